"""The docs' quickstarts, followed literally: their code blocks are the test's source."""
