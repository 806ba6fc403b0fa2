/* personalize-sdk: brings server-rendered widgets to life. The markup contract is docs/markup.md.
   Plain ES2017, no dependencies, no build step. A widget's fault never breaks the page. */
(() => {
  "use strict";
  const d = document, w = window;
  d.documentElement.classList.add("pz-js");
  if (w.personalize && w.personalize.scan) return; // included twice: wire once

  const ROOT = "[data-pz-widget]";
  const BEACON = "/_personalize/beacon";
  const FIXED_KINDS = ["side_coupon", "floating_icon"];
  const FOCUSABLE = 'a[href],button:not([disabled]),input:not([disabled]):not([type="hidden"]),' +
    'select:not([disabled]),textarea:not([disabled]),[tabindex]:not([tabindex="-1"])';
  const wired = new WeakSet(), closers = new WeakMap(), copyTimers = new WeakMap();
  const refreshes = new WeakMap();

  // Every handler runs through guard: an error is logged, never thrown into the page.
  const guard = (fn) => function (...args) {
    try { return fn.apply(this, args); } catch (e) { console.error("personalize:", e); }
  };
  const within = (root, target, selector) => {
    const el = target && target.closest ? target.closest(selector) : null;
    return el && root.contains(el) ? el : null;
  };
  // localStorage throws in some private modes and when full: remembering is best effort.
  const key = (root) => "pz:dismissed:" + root.dataset.pzCampaign;
  const remembered = (root) => {
    try { return !!localStorage.getItem(key(root)); } catch (e) { return false; }
  };
  const remember = (root) => {
    try { localStorage.setItem(key(root), String(Date.now())); } catch (e) { /* best effort */ }
  };

  /* Beacons */
  const beaconOf = (root) => (root && root.dataset.pzBeacon) || BEACON;
  const event = (root, type, extra) => Object.assign({
    type, campaign: root.dataset.pzCampaign, variant: root.dataset.pzVariant,
    kind: root.dataset.pzWidget, slot: root.dataset.pzSlot, path: location.pathname,
  }, extra);
  const post = (url, events) => {
    for (let i = 0; i < events.length; i += 20) {
      const body = JSON.stringify({ events: events.slice(i, i + 20) });
      let queued = false;
      try { queued = navigator.sendBeacon(url, body); } catch (e) { /* missing or refused */ }
      if (!queued) {
        fetch(url, { method: "POST", body, keepalive: true, credentials: "same-origin" }).catch(() => {});
      }
    }
  };
  // Public: send(events[, url]) posts events (objects as in docs/markup.md) to the beacon URL.
  const send = guard((events, url) => {
    events = [].concat(events || []).filter((e) => e && typeof e === "object");
    if (events.length) post(url || beaconOf(d.querySelector("[data-pz-beacon]")), events);
  });
  const emit = (root, type, extra) => send([event(root, type, extra)], beaconOf(root));

  // The `shown` events of one page load travel together: collected for a moment, flushed once.
  const shown = new Map();
  let shownTimer = 0;
  const flushShown = guard(() => {
    clearTimeout(shownTimer);
    shownTimer = 0;
    shown.forEach((events, url) => post(url, events));
    shown.clear();
  });
  const queueShown = (root) => {
    const url = beaconOf(root);
    shown.set(url, (shown.get(url) || []).concat(event(root, "shown")));
    if (!shownTimer) shownTimer = setTimeout(flushShown, 1000);
  };
  w.addEventListener("pagehide", flushShown);
  d.addEventListener("visibilitychange", () => d.visibilityState === "hidden" && flushShown());

  const observer = "IntersectionObserver" in w && new IntersectionObserver(guard((entries) => {
    for (const e of entries) {
      if (e.isIntersecting && e.intersectionRatio >= 0.49) {
        observer.unobserve(e.target);
        queueShown(e.target);
      }
    }
  }), { threshold: 0.5 });
  const watch = (root) => (observer ? observer.observe(root) : queueShown(root));

  /* Dismiss, focus and dialogs */
  const tabStops = (box) => {
    const all = [...box.querySelectorAll(FOCUSABLE)].filter((el) => el.getClientRects().length);
    // Only one radio of a group is a Tab stop: the checked one, else the first.
    return all.filter((el) => {
      if (el.type !== "radio" || !el.name || el.checked) return true;
      const group = all.filter((r) => r.type === "radio" && r.name === el.name);
      return group[0] === el && !group.some((r) => r.checked);
    });
  };
  const dismiss = (root, before) => {
    remember(root);
    send(before.concat(event(root, "dismissed")), beaconOf(root));
    if (closers.has(root)) closers.get(root)();
    else if (root.hasAttribute("data-pz-overlay")) root.hidden = true;
    else { if (observer) observer.unobserve(root); root.remove(); }
  };
  const openDialog = (root) => {
    const dialog = root.querySelector('[role="dialog"]') || root;
    const before = d.activeElement;
    root.hidden = false;
    emit(root, "shown");
    const first = () => tabStops(dialog)[0] || dialog;
    const onKey = guard((e) => {
      if (e.key === "Escape" || e.key === "Esc") {
        e.preventDefault();
        dismiss(root, []);
      } else if (e.key === "Tab") {
        const stops = tabStops(dialog), a = d.activeElement;
        const inside = a !== dialog && dialog.contains(a);
        if (!stops.length) { e.preventDefault(); dialog.focus(); }
        else if (e.shiftKey ? !inside || a === stops[0] : !inside || a === stops[stops.length - 1]) {
          e.preventDefault();
          stops[e.shiftKey ? stops.length - 1 : 0].focus();
        }
      }
    });
    // Focus arriving outside (a click on the page, assistive technology) is brought back.
    const onFocus = guard((e) => { if (!dialog.contains(e.target)) first().focus(); });
    d.addEventListener("keydown", onKey, true);
    d.addEventListener("focusin", onFocus, true);
    closers.set(root, () => {
      closers.delete(root);
      d.removeEventListener("keydown", onKey, true);
      d.removeEventListener("focusin", onFocus, true);
      root.hidden = true;
      if (before && before !== d.body && before.isConnected && before.focus) before.focus();
    });
    first().focus();
  };

  /* Exit intent: desktop leaves through the top; mobile scrolls up fast, goes back or idles. */
  const armExit = (root, control) => {
    const ds = root.dataset;
    const num = (value, fallback) => {
      const n = parseFloat(value);
      return n >= 0 && n < Infinity ? n : fallback;
    };
    const sensitivity = num(ds.pzSensitivity, 20), delay = num(ds.pzDelay, 0);
    const dwell = num(ds.pzMinDwell, 5000), idle = num(ds.pzIdle, 30000);
    const mobile = (ds.pzMobile == null ? "scroll,back,idle" : ds.pzMobile).split(",").map((s) => s.trim());
    const listeners = [];
    const on = (target, type, fn) => {
      const h = guard(fn);
      listeners.push([target, type, h]);
      target.addEventListener(type, h, { passive: true });
    };
    let done = false, pending = 0, idleTimer = 0;
    const open = guard(() => {
      if (done || performance.now() < dwell || remembered(root)) return false;
      done = true;
      clearTimeout(pending);
      clearTimeout(idleTimer);
      listeners.forEach(([t, type, h]) => t.removeEventListener(type, h, { passive: true }));
      // A holdout sees nothing, but its exposure is recorded when the widget would have opened.
      if (control) emit(root, "shown"); else openDialog(root);
      return true;
    });

    if (w.matchMedia && matchMedia("(hover: hover) and (pointer: fine)").matches) {
      on(d, "mouseout", (e) => {
        if (e.relatedTarget || e.clientY >= sensitivity || performance.now() < dwell) return;
        clearTimeout(pending);
        if (delay) pending = setTimeout(open, delay); else open();
      });
      on(d, "mouseover", () => clearTimeout(pending)); // back in during the grace period
      return;
    }
    if (mobile.includes("scroll")) {
      let marks = [];
      on(w, "scroll", () => {
        const t = performance.now(), y = w.scrollY;
        marks = marks.filter((m) => t - m[0] <= 400).concat([[t, y]]);
        if (Math.max(...marks.map((m) => m[1])) - y >= 0.3 * w.innerHeight) open();
      });
    }
    if (mobile.includes("back")) {
      const href = location.href;
      history.pushState({ pz: 1 }, "");
      const onPop = guard((e) => {
        // Fragment links also pop; only leaving our entry for the one below it counts.
        if ((e.state && e.state.pz) || location.href !== href) return;
        w.removeEventListener("popstate", onPop);
        // Not opening (or a holdout, which shows nothing): the shopper really goes back.
        if (!open() || control) history.back();
      });
      w.addEventListener("popstate", onPop);
    }
    if (mobile.includes("idle")) {
      const check = () => {
        const wait = dwell - performance.now();
        if (wait > 0) idleTimer = setTimeout(check, wait); else open();
      };
      const reset = () => { clearTimeout(idleTimer); idleTimer = setTimeout(check, idle); };
      ["touchstart", "scroll", "keydown"].forEach((type) => on(w, type, reset));
      reset();
    }
  };

  /* Coupons */
  const copyCode = (root, button) => {
    const code = root.querySelector("[data-pz-code]");
    if (!code) return;
    const fallback = () => { // select the code so the shopper can copy it by hand if this fails
      const range = d.createRange(), selection = getSelection();
      range.selectNodeContents(code);
      selection.removeAllRanges();
      selection.addRange(range);
      try { d.execCommand("copy"); } catch (e) { /* selected is the best we can do */ }
    };
    const text = code.textContent.trim();
    if (navigator.clipboard && w.isSecureContext) navigator.clipboard.writeText(text).catch(guard(fallback));
    else fallback();
    emit(root, "coupon_copied");
    const status = button.querySelector(".pz-status");
    const label = copyTimers.has(button) ? copyTimers.get(button)[1] : button.textContent;
    clearTimeout(copyTimers.has(button) ? copyTimers.get(button)[0] : 0);
    button.classList.add("pz-copied");
    (status || button).textContent = button.getAttribute("data-pz-copy") || "Copied";
    copyTimers.set(button, [setTimeout(guard(() => {
      copyTimers.delete(button);
      button.classList.remove("pz-copied");
      if (status) status.textContent = ""; else button.textContent = label;
    }), 2000), label]);
  };
  const reveal = (root, cover) => {
    if (root.classList.contains("pz-revealed")) return;
    root.classList.add("pz-revealed");
    cover.remove();
    const copy = root.querySelector("[data-pz-copy]");
    if (copy) copy.focus();
    emit(root, "clicked");
  };
  const wireScratch = (root, cover) => {
    let x = null, moved = 0; // moved: horizontal distance scratched, across strokes
    cover.addEventListener("pointerdown", guard((e) => {
      x = e.clientX;
      try { cover.setPointerCapture(e.pointerId); } catch (err) { /* fine without */ }
    }));
    cover.addEventListener("pointermove", guard((e) => {
      if (x === null) return;
      moved += Math.abs(e.clientX - x);
      x = e.clientX;
      const part = moved / (cover.getBoundingClientRect().width || 1) / 0.4;
      cover.style.setProperty("--pz-scratched", Math.min(part, 1));
      if (part >= 1) reveal(root, cover);
    }));
    const stop = () => { x = null; };
    cover.addEventListener("pointerup", stop);
    cover.addEventListener("pointercancel", stop);
  };

  /* Countdown: D:HH:MM:SS, HH:MM:SS under a day; 00:00:00 and pz-expired at the deadline. */
  const clock = (s) => {
    const hms = [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60]
      .map((n) => String(n).padStart(2, "0")).join(":");
    return s >= 86400 ? Math.floor(s / 86400) + ":" + hms : hms;
  };
  const wireCountdown = (root) => {
    const deadline = parseFloat(root.dataset.pzDeadline) * 1000;
    const timer = root.querySelector("[data-pz-timer]");
    if (!(deadline > -Infinity && deadline < Infinity)) return;
    const tick = guard(() => {
      if (!root.isConnected) return;
      const left = deadline - Date.now();
      if (timer) timer.textContent = clock(Math.max(0, Math.ceil(left / 1000)));
      if (left > 0) { setTimeout(tick, left % 1000 || 1000); return; }
      root.classList.add("pz-expired");
      root.querySelectorAll("[data-pz-expired-text]").forEach((el) => { el.hidden = false; });
    });
    tick();
  };

  /* Progress bar: fresh HTML on `personalize:cart-changed`, patched in place so the live
     region announces the new text and the meter animates to its new width. */
  const morph = (old, fresh) => {
    if (old.nodeType !== fresh.nodeType || old.nodeName !== fresh.nodeName) return old.replaceWith(fresh);
    if (old.nodeType !== 1) {
      if (old.nodeValue !== fresh.nodeValue) old.nodeValue = fresh.nodeValue;
      return;
    }
    [...old.attributes].forEach((a) => fresh.hasAttribute(a.name) || old.removeAttribute(a.name));
    [...fresh.attributes].forEach((a) => {
      if (old.getAttribute(a.name) === a.value) return;
      if (a.name === "style") old.style.cssText = a.value; // CSSOM: allowed under a strict CSP
      else old.setAttribute(a.name, a.value);
    });
    const kids = [...old.childNodes];
    [...fresh.childNodes].forEach((n, i) => (kids[i] ? morph(kids[i], n) : old.appendChild(n)));
    kids.slice(fresh.childNodes.length).forEach((n) => n.remove());
  };
  const refresh = (root) => {
    const ticket = {};
    refreshes.set(root, ticket); // only the latest answer is applied
    fetch(root.dataset.pzRefresh, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error("refresh: HTTP " + r.status))))
      .then(guard((html) => {
        if (refreshes.get(root) !== ticket || !root.isConnected) return;
        const t = d.createElement("template");
        t.innerHTML = html;
        let fresh = t.content.querySelector(ROOT);
        if (!fresh) { fresh = root.cloneNode(false); fresh.append(t.content); }
        // Keep refreshing even if the answer forgot where it came from.
        if (!fresh.hasAttribute("data-pz-refresh")) {
          fresh.setAttribute("data-pz-refresh", root.dataset.pzRefresh);
        }
        morph(root, fresh);
      }))
      .catch(() => {});
  };
  d.addEventListener("personalize:cart-changed", () => {
    d.querySelectorAll("[data-pz-refresh]").forEach(guard(refresh));
  });

  /* Wiring */
  const onClick = (root, e) => {
    const t = e.target;
    if (within(root, t, "[data-pz-dismiss]")) { e.preventDefault(); dismiss(root, []); return; }
    const copy = within(root, t, "[data-pz-copy]");
    if (copy) copyCode(root, copy);
    const cover = within(root, t, "[data-pz-scratch-cover]");
    if (cover) reveal(root, cover);
    if (within(root, t, "[data-pz-click]")) emit(root, "clicked");
  };
  const onSubmit = (root, e) => {
    const form = within(root, e.target, "form[data-pz-survey]");
    if (!form) return;
    e.preventDefault();
    const checked = form.querySelector('input[type="radio"]:checked');
    dismiss(root, checked ? [event(root, "survey_answered", { answer: checked.value })] : []);
  };
  const wire = guard((root) => {
    if (wired.has(root)) return;
    wired.add(root);
    const overlay = root.hasAttribute("data-pz-overlay") || root.dataset.pzWidget === "exit_intent";
    const control = root.classList.contains("pz-control");
    if (remembered(root)) {
      if (!overlay) root.remove();
      return;
    }
    if (overlay) armExit(root, control);
    else if (control) {
      // The holdout's empty marker stands where the widget would: seen by the observer, not
      // by the shopper, out of the flow.
      const s = root.style, fixed = FIXED_KINDS.includes(root.dataset.pzWidget);
      root.hidden = false;
      s.position = fixed ? "fixed" : "absolute";
      s.top = s.left = fixed ? "0" : "";
      s.width = s.height = "0";
      s.overflow = "hidden";
      s.pointerEvents = "none";
      watch(root);
    } else watch(root);
    if (control) return;
    root.addEventListener("click", guard((e) => onClick(root, e)));
    root.addEventListener("submit", guard((e) => onSubmit(root, e)));
    const cover = root.querySelector("[data-pz-scratch-cover]");
    if (cover) wireScratch(root, cover);
    if (root.hasAttribute("data-pz-deadline")) wireCountdown(root);
  });
  // Public: scan(root = document) wires widgets inserted after load.
  const scan = guard((scope) => {
    scope = scope || d;
    const roots = [...scope.querySelectorAll(ROOT)];
    if (scope.matches && scope.matches(ROOT)) roots.unshift(scope);
    roots.forEach(wire);
  });

  w.personalize = { scan, send };
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", () => scan());
  else scan();
})();
