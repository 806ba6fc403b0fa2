"""Framework integrations (Starlette/FastAPI, Django, Flask), installed as
`personalize_sdk.integrations`. Each adapter imports its framework lazily and names the extra to
install when it is missing."""
