// Live chat over WebSocket (see chat/PROTOCOL.md). Text from people is only
// ever put on the page with textContent, never as markup.
(function () {
  "use strict";

  var i18nEl = document.getElementById("chat-i18n");
  function t(key, vars) {
    var s = (i18nEl && i18nEl.getAttribute("data-" + key)) || "";
    if (vars) {
      Object.keys(vars).forEach(function (k) { s = s.split("{" + k + "}").join(String(vars[k])); });
    }
    return s;
  }

  function randomId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // How often an open socket that has been quiet is probed, and how long
  // it may stay silent before it counts as dead. A connection can die
  // without a close (a laptop's sleep, a changed network); the server's
  // pings are answered by the browser and never reach the page.
  var PROBE_EVERY = 20000;
  var DEAD_AFTER = 45000;

  // Socket keeps one WebSocket open: it reconnects with jittered
  // exponential back-off and calls onOpen each time, so the page resumes.
  // The browser's offline and online events drop and reconnect at once.
  function Socket(url, handlers) {
    var self = this;
    self.url = url;
    self.h = handlers;
    self.attempts = 0;
    self.stopped = false;
    self.ws = null;
    self.timer = null;
    self.heard = Date.now();
    window.addEventListener("offline", function () { self.drop(); });
    window.addEventListener("online", function () { self.now(); });
    setInterval(function () { self.probe(); }, PROBE_EVERY / 2);
    self.connect();
  }
  Socket.prototype.connect = function () {
    var self = this;
    self.timer = null;
    if (self.stopped || self.ws) { return; }
    if (navigator.onLine === false) {
      // No network: the online event reconnects.
      self.h.onState("offline");
      return;
    }
    self.h.onState("connecting");
    var ws;
    try { ws = new WebSocket(self.url); } catch (e) { self.retry(); return; }
    self.ws = ws;
    ws.onopen = function () {
      self.attempts = 0;
      self.heard = Date.now();
      self.h.onState("online");
      self.send({ type: "hello", v: 1 });
      self.h.onOpen();
    };
    ws.onmessage = function (ev) {
      self.heard = Date.now();
      String(ev.data).split("\n").forEach(function (line) {
        if (!line) { return; }
        var f;
        try { f = JSON.parse(line); } catch (e) { return; }
        self.h.onFrame(f);
      });
    };
    ws.onclose = function (ev) { self.closed(ws, ev.code, ev.reason); };
  };
  // closed handles the end of ws, whether the server closed it or drop did.
  Socket.prototype.closed = function (ws, code, reason) {
    if (this.ws !== ws) { return; }
    this.ws = null;
    if (this.stopped) { return; }
    if (code === 4401) { this.stop("session_ended"); return; }
    if (code === 1008) {
      if (reason === "too_many_sockets" || reason === "bad_frame") { this.stop(reason); return; }
      this.h.onState("error", reason);
      this.retry(5000);
      return;
    }
    this.h.onState("offline");
    this.retry();
  };
  // drop gives up on the current connection without waiting for a close
  // handshake that may never come.
  Socket.prototype.drop = function () {
    var ws = this.ws;
    if (!ws) { return; }
    quit(ws);
    this.closed(ws, 1006, "");
  };
  // now reconnects at once (the browser is back online).
  Socket.prototype.now = function () {
    if (this.stopped || this.ws) { return; }
    clearTimeout(this.timer);
    this.attempts = 0;
    this.connect();
  };
  // probe asks a quiet connection for a sign of life, and drops it when
  // none has come for too long.
  Socket.prototype.probe = function () {
    if (!this.open()) { return; }
    var quiet = Date.now() - this.heard;
    if (quiet > DEAD_AFTER) { this.drop(); return; }
    if (quiet > PROBE_EVERY) { this.send({ type: "hello", v: 1 }); }
  };
  Socket.prototype.retry = function (minDelay) {
    var self = this;
    if (self.stopped || self.timer) { return; }
    var base = Math.min(30000, 500 * Math.pow(2, self.attempts));
    self.attempts++;
    var delay = Math.max(minDelay || 0, base * (0.5 + Math.random()));
    self.timer = setTimeout(function () { self.connect(); }, delay);
  };
  Socket.prototype.stop = function (reason) {
    this.stopped = true;
    clearTimeout(this.timer);
    this.h.onState("error", reason);
  };
  // end stops reconnecting and closes the connection: nothing more will
  // come (the conversation is over).
  Socket.prototype.end = function () {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) { quit(this.ws); this.ws = null; }
  };
  // quit closes a WebSocket the page no longer listens to. One still
  // connecting is closed once open: closing it earlier is logged as an
  // error by browsers.
  function quit(ws) {
    ws.onmessage = ws.onclose = ws.onerror = null;
    if (ws.readyState === 0) {
      ws.onopen = function () { ws.close(1000); };
    } else {
      ws.onopen = null;
      ws.close(1000);
    }
  }
  Socket.prototype.open = function () { return this.ws && this.ws.readyState === 1; };
  Socket.prototype.send = function (obj) {
    if (this.open()) { this.ws.send(JSON.stringify(obj)); return true; }
    return false;
  };

  // The session stays alive while someone only chats.
  function keepAlive() {
    setInterval(function () {
      fetch("/chat/alive", { credentials: "same-origin" }).catch(function () {});
    }, 4 * 60 * 1000);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // fmtTime writes the time of a message in the service's time zone (as
  // the server writes the times on the page), not the browser's.
  function fmtTime(iso, tz) {
    var d = new Date(iso);
    if (isNaN(d)) { return ""; }
    var opts = { hour: "2-digit", minute: "2-digit" };
    if (tz) { opts.timeZone = tz; }
    try {
      return d.toLocaleTimeString(document.documentElement.lang || "fi", opts);
    } catch (e) { // an unknown zone
      return d.toLocaleTimeString(document.documentElement.lang || "fi", { hour: "2-digit", minute: "2-digit" });
    }
  }

  function timeEl(iso, tz) {
    var e = el("time", "", fmtTime(iso, tz));
    if (iso) { e.setAttribute("datetime", iso); }
    return e;
  }

  // Chat: one conversation, for the resident or the advisor.
  function Chat(root) {
    var self = this;
    self.root = root;
    self.conv = Number(root.getAttribute("data-conv"));
    self.role = root.getAttribute("data-role");
    self.last = Number(root.getAttribute("data-last")) || 0;
    self.peerDelivered = Number(root.getAttribute("data-peer-delivered")) || 0;
    self.peerRead = Number(root.getAttribute("data-peer-read")) || 0;
    self.peerName = root.getAttribute("data-peer-name") || t("advisor");
    self.tz = root.getAttribute("data-tz") || "";
    self.list = root.querySelector("[data-chat-messages]");
    self.statusEl = root.querySelector("[data-chat-status]");
    self.typingEl = root.querySelector("[data-chat-typing]");
    self.form = root.querySelector("[data-chat-form]");
    self.input = root.querySelector("[data-chat-input]");
    self.notes = document.querySelector("[data-chat-notes]");
    self.storeKey = "chat.pending." + self.conv;
    self.pending = self.loadPending();
    self.lastTyping = 0;
    self.typingTimer = null;
    self.receiptTimer = null;
    self.sentReceived = 0;
    self.sentRead = 0;
    self.refreshMarks();
    self.pending.forEach(function (p) { self.renderOwn(p); });
    // A transcript, or a chat that has ended, has nothing more to come;
    // what was still waiting to be sent never will be.
    if (root.hasAttribute("data-readonly") || root.getAttribute("data-status") === "closed") {
      self.pending.forEach(function (p) {
        var li = self.findByCid(p.cid);
        if (li && !li.getAttribute("data-seq")) { li.setAttribute("data-state", "rejected"); self.mark(li); }
      });
      self.pending = [];
      self.savePending();
      return;
    }

    self.sock = new Socket(root.getAttribute("data-ws"), {
      onState: function (s, reason) { self.connState(s, reason); },
      onOpen: function () {
        self.sock.send({ type: "join", conv: self.conv, after: self.last });
        self.pending.forEach(function (p) { self.sock.send({ type: "send", conv: self.conv, cid: p.cid, body: p.body }); });
      },
      onFrame: function (f) { self.frame(f); }
    });
    if (self.form) {
      self.form.addEventListener("submit", function (ev) { ev.preventDefault(); self.submit(); });
      self.input.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); self.submit(); }
      });
      self.input.addEventListener("input", function () {
        var now = Date.now();
        if (now - self.lastTyping > 3000 && self.input.value) {
          self.lastTyping = now;
          self.sock.send({ type: "typing", conv: self.conv });
        }
      });
      var canned = root.querySelector("[data-chat-canned]");
      if (canned) {
        canned.addEventListener("change", function () {
          if (canned.value) {
            self.input.value = self.input.value ? self.input.value + "\n" + canned.value : canned.value;
            canned.value = "";
            self.input.focus();
          }
        });
      }
    }
    document.addEventListener("visibilitychange", function () { self.receipts(); });
    window.addEventListener("focus", function () { self.receipts(); });
    keepAlive();
    self.title = document.title;
    self.unread = 0;
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { self.unread = 0; document.title = self.title; }
    });
    self.scrollDown(true);
  }

  // scrollDown shows the newest message by scrolling the transcript (not
  // the page), unless the reader has scrolled up to read older ones.
  Chat.prototype.scrollDown = function (force) {
    var l = this.list;
    if (force || l.scrollHeight - l.scrollTop - l.clientHeight < 80 + (l.lastElementChild ? l.lastElementChild.offsetHeight : 0)) {
      l.scrollTop = l.scrollHeight;
    }
  };

  Chat.prototype.loadPending = function () {
    try { return JSON.parse(sessionStorage.getItem(this.storeKey)) || []; } catch (e) { return []; }
  };
  Chat.prototype.savePending = function () {
    try {
      var slim = this.pending.map(function (p) { return { cid: p.cid, body: p.body, at: p.at }; });
      sessionStorage.setItem(this.storeKey, JSON.stringify(slim));
    } catch (e) { /* private mode: pending lives only in memory */ }
  };

  Chat.prototype.connState = function (s, reason) {
    if (s === "online") { this.setStatusNote(""); return; }
    if (s === "connecting" || s === "offline") { this.setStatusNote(t(s === "offline" ? "offline" : "connecting")); return; }
    this.setStatusNote(t("err-" + reason) || t("offline"));
  };
  // setStatusNote shows the state of the connection (or a problem) in the
  // page's status line for it; "" clears it.
  Chat.prototype.setStatusNote = function (text) {
    var n = this.root.querySelector("[data-chat-conn]");
    if (!n) { n = el("p", "chat__conn"); n.setAttribute("role", "status"); this.root.insertBefore(n, this.list); }
    n.textContent = text;
  };

  Chat.prototype.submit = function () {
    var body = this.input.value.trim();
    if (!body) { return; }
    var p = { cid: randomId(), body: body, at: new Date().toISOString() };
    this.pending.push(p);
    this.savePending();
    this.renderOwn(p);
    this.input.value = "";
    this.sock.send({ type: "send", conv: this.conv, cid: p.cid, body: body });
  };

  Chat.prototype.findByCid = function (cid) {
    if (!cid) { return null; }
    var items = this.list.querySelectorAll("[data-cid]");
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute("data-cid") === cid) { return items[i]; }
    }
    return null;
  };

  Chat.prototype.renderOwn = function (p) {
    if (this.findByCid(p.cid)) { return; }
    var li = this.messageEl({ from: this.role, body: p.body, at: p.at, cid: p.cid });
    li.setAttribute("data-state", "sending");
    this.list.appendChild(li);
    this.mark(li);
    this.scrollDown(true);
  };

  Chat.prototype.messageEl = function (m) {
    var own = m.from === this.role;
    var li = el("li", "chat-msg chat-msg--" + (m.kind === "system" ? "system" : own ? "own" : "peer"));
    if (m.seq) { li.setAttribute("data-seq", m.seq); }
    if (m.cid) { li.setAttribute("data-cid", m.cid); }
    if (m.kind === "system") {
      li.appendChild(el("p", "chat-msg__body", t(m.event, { name: m.name || "" })));
      var meta0 = el("p", "chat-msg__meta");
      meta0.appendChild(timeEl(m.at, this.tz));
      li.appendChild(meta0);
      return li;
    }
    var meta = el("p", "chat-msg__meta");
    var who = own ? t("you") : m.from === "advisor" ? (m.name || t("advisor")) : this.peerName || t("resident");
    meta.appendChild(el("span", "chat-msg__who", who));
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(timeEl(m.at, this.tz));
    li.appendChild(meta);
    li.appendChild(el("p", "chat-msg__body", m.body));
    return li;
  };

  // mark shows sending / sent / delivered / read under one's own messages.
  Chat.prototype.mark = function (li) {
    if (!li.classList.contains("chat-msg--own")) { return; }
    var m = li.querySelector(".chat-msg__mark");
    if (!m) { m = el("span", "chat-msg__mark"); li.querySelector(".chat-msg__meta").appendChild(m); }
    var seq = Number(li.getAttribute("data-seq")) || 0;
    var state = li.getAttribute("data-state") || "sent";
    if (seq) {
      state = seq <= this.peerRead ? "read" : seq <= this.peerDelivered ? "delivered" : "sent";
    }
    m.textContent = " · " + t(state);
  };
  Chat.prototype.refreshMarks = function () {
    var self = this;
    Array.prototype.forEach.call(self.list.querySelectorAll(".chat-msg--own"), function (li) { self.mark(li); });
  };

  Chat.prototype.frame = function (f) {
    var self = this;
    if (f.conv && f.conv !== self.conv && f.type !== "queue") { return; }
    switch (f.type) {
      case "joined":
        self.peerDelivered = Math.max(self.peerDelivered, f.peerDelivered || 0);
        self.peerRead = Math.max(self.peerRead, f.peerRead || 0);
        self.refreshMarks();
        self.showState(f.status, f.advisor);
        // What the page showed on load (or before a reconnect) is now
        // received, and read if the page is in view.
        self.receipts();
        break;
      case "message":
        self.message(f);
        break;
      case "ack":
        self.pending = self.pending.filter(function (p) { return p.cid !== f.cid; });
        self.savePending();
        var li = self.findByCid(f.cid);
        if (li && !li.getAttribute("data-seq")) { li.setAttribute("data-seq", f.seq); li.removeAttribute("data-state"); self.mark(li); }
        break;
      case "typing":
        if (f.from === self.role) { return; }
        self.typingEl.textContent = t("typing", { name: f.from === "advisor" ? (f.name || t("advisor")) : self.peerName });
        clearTimeout(self.typingTimer);
        self.typingTimer = setTimeout(function () { self.typingEl.textContent = ""; }, 5000);
        break;
      case "receipt":
        if (f.from === self.role) { return; }
        self.peerDelivered = Math.max(self.peerDelivered, f.delivered || 0);
        self.peerRead = Math.max(self.peerRead, f.read || 0);
        self.refreshMarks();
        break;
      case "queue":
        // Positions are worked out from a snapshot of the queue: one that
        // arrives after the chat was accepted is stale and is ignored.
        if (f.conv === self.conv && f.position && self.root.getAttribute("data-status") === "queued") {
          self.statusEl.textContent = t("queue", { position: f.position, estimate: f.estimate });
        }
        break;
      case "note":
        if (self.notes) {
          var n = el("li");
          n.appendChild(el("p", "chat-msg__meta", f.author + " · " + fmtTime(f.at, self.tz)));
          n.appendChild(el("p", "chat-msg__body", f.body));
          self.notes.appendChild(n);
        }
        break;
      case "left":
        self.showState("closed");
        break;
      case "error":
        if (f.code === "internal" && f.cid) {
          var again = self.pending.filter(function (p) { return p.cid === f.cid; })[0];
          if (again) { setTimeout(function () { self.sock.send({ type: "send", conv: self.conv, cid: again.cid, body: again.body }); }, 3000); }
          var pli = self.findByCid(f.cid);
          if (pli) { pli.setAttribute("data-state", "failed"); self.mark(pli); }
          return;
        }
        if (f.cid) {
          self.pending = self.pending.filter(function (p) { return p.cid !== f.cid; });
          self.savePending();
          var rli = self.findByCid(f.cid);
          if (rli && !rli.getAttribute("data-seq")) { rli.setAttribute("data-state", "rejected"); self.mark(rli); }
        }
        self.setStatusNote(t("err-" + f.code));
        if (f.code === "closed" || f.code === "forbidden") { self.showState("closed"); }
        break;
    }
  };

  Chat.prototype.message = function (f) {
    if (f.seq <= this.last) { return; }
    this.last = f.seq;
    var li = f.cid && f.from === this.role ? this.findByCid(f.cid) : null;
    if (li) {
      li.setAttribute("data-seq", f.seq);
      li.removeAttribute("data-state");
      this.pending = this.pending.filter(function (p) { return p.cid !== f.cid; });
      this.savePending();
      this.list.appendChild(li); // its place in the sequence
    } else {
      li = this.messageEl(f);
      this.list.appendChild(li);
    }
    this.mark(li);
    this.scrollDown(false);
    if (f.kind === "system") {
      if (f.event === "accepted" || f.event === "transferred") { this.showState("active", f.name); }
      if (f.event === "requeued") { this.showState("queued"); }
      if (f.event === "closed" || f.event === "ended") { this.showState("closed"); }
    } else if (f.from !== this.role) {
      this.typingEl.textContent = "";
      this.receipts();
      if (document.visibilityState === "hidden") {
        // A tab in the background tells in its title that something came.
        this.unread++;
        document.title = "(" + this.unread + ") " + this.title;
      }
    }
  };

  // receipts tells the other side what arrived and, when the page is
  // visible, what was read; at most every 300 ms.
  Chat.prototype.receipts = function () {
    var self = this;
    if (self.receiptTimer || !self.sock) { return; }
    self.receiptTimer = setTimeout(function () {
      self.receiptTimer = null;
      if (self.last > self.sentReceived && self.sock.send({ type: "received", conv: self.conv, seq: self.last })) {
        self.sentReceived = self.last;
      }
      if (document.visibilityState === "visible" && document.hasFocus() && self.last > self.sentRead &&
          self.sock.send({ type: "read", conv: self.conv, seq: self.last })) {
        self.sentRead = self.last;
      }
    }, 300);
  };

  Chat.prototype.showState = function (status, advisor) {
    this.root.setAttribute("data-status", status);
    if (status === "closed") {
      if (this.form) { this.form.hidden = true; }
      // What only an open chat offers (end, transfer) goes; what follows
      // one (a new chat, the transcript) comes.
      Array.prototype.forEach.call(document.querySelectorAll("[data-chat-open-only]"), function (e) { e.hidden = true; });
      Array.prototype.forEach.call(document.querySelectorAll("[data-chat-after]"), function (e) { e.hidden = false; });
      this.statusEl.textContent = t("state-closed");
      this.typingEl.textContent = "";
      if (this.sock) { this.sock.end(); }
    } else if (status === "active" && advisor && this.role === "resident") {
      this.statusEl.textContent = t("with-advisor", { name: advisor });
    }
  };

  // Queue: the advisor's live queue on the chat desk. The server sends it
  // whenever it changes; after each (re)connect the page also asks for it
  // once, since changes made while the socket was away are not replayed.
  function Queue(root) {
    var self = this;
    self.root = root;
    self.rows = root.querySelector("[data-chat-queue-rows]");
    self.conn = root.querySelector("[data-chat-queue-conn]");
    // Arrivals are announced in a polite live region; what the page came
    // with is known already.
    self.live = root.querySelector("[data-chat-queue-live]");
    self.known = {};
    Array.prototype.forEach.call(self.rows.querySelectorAll("tr[data-conv]"), function (tr) {
      self.known[tr.getAttribute("data-conv")] = true;
    });
    self.csrf = root.getAttribute("data-csrf");
    self.url = root.getAttribute("data-queue-url");
    self.frames = 0; // queue frames seen, to drop a fetched queue that is older
    self.items = [];
    // Region codes and their names in the page's language.
    self.regions = {};
    var rl = document.getElementById("chat-regions");
    Array.prototype.forEach.call(rl ? rl.querySelectorAll("[data-code]") : [], function (li) {
      self.regions[li.getAttribute("data-code")] = li.textContent;
    });
    self.sock = new Socket(root.getAttribute("data-ws"), {
      onState: function (st, reason) { self.connState(st, reason); },
      onOpen: function () { self.fetch(); },
      onFrame: function (f) {
        // The staff's queue frame has no conv; a resident's has one.
        if (f.type === "queue" && !f.conv) { self.frames++; self.render(f); }
      }
    });
    // Waiting times move on between frames.
    setInterval(function () { self.tick(); }, 15000);
    keepAlive();
  }
  Queue.prototype.connState = function (st, reason) {
    this.root.setAttribute("data-conn", st);
    if (!this.conn) { return; }
    if (st === "online") { this.conn.textContent = ""; return; }
    if (st === "connecting" || st === "offline") { this.conn.textContent = t(st === "offline" ? "offline" : "connecting"); return; }
    this.conn.textContent = t("err-" + reason) || t("offline");
  };
  Queue.prototype.fetch = function () {
    var self = this;
    if (!self.url || !window.fetch) { return; }
    var seen = self.frames;
    fetch(self.url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (f) {
      // A frame that came meanwhile is at least as new.
      if (f && self.frames === seen) { self.render(f); }
    }).catch(function () { /* the next frame brings it */ });
  };
  Queue.prototype.regionName = function (code) {
    if (!code) { return t("any-region"); }
    return (Object.prototype.hasOwnProperty.call(this.regions, code) && this.regions[code]) || code;
  };
  // render brings the table to the queue f. Rows are kept per
  // conversation and updated in place, so that a row someone is about to
  // accept (or has focused with the keyboard) is not replaced under them.
  Queue.prototype.render = function (f) {
    var self = this;
    var now = Date.now();
    var old = {};
    Array.prototype.forEach.call(self.rows.children, function (tr) {
      old[tr.getAttribute("data-conv") || ""] = tr;
    });
    self.items = (f.items || []).map(function (it) { return { it: it, at: now }; });
    // Rows that went first, so that those staying need not move.
    var keep = {};
    self.items.forEach(function (x) { keep[String(Number(x.it.conv))] = true; });
    Object.keys(old).forEach(function (key) {
      if (!keep[key]) { self.rows.removeChild(old[key]); }
    });
    self.items.forEach(function (x, i) {
      var it = x.it;
      var tr = old[String(Number(it.conv))] || self.row(it.conv);
      tr.className = it.ownRegion ? "chat-queue__own" : "";
      var texts = [t("topic-" + it.topic) || it.topic, t("lang-" + it.lang) || it.lang, self.regionName(it.region),
        it.identified ? t("identified") : t("unidentified"), t("minutes", { minutes: it.minutes })];
      texts.forEach(function (text, c) {
        if (tr.cells[c].textContent !== text) { tr.cells[c].textContent = text; }
      });
      x.cell = tr.cells[4];
      var btn = tr.querySelector("button");
      if (btn) { btn.disabled = !f.canAccept; }
      // Move only what is out of place: moving a node takes its focus.
      if (self.rows.children[i] !== tr) { self.rows.insertBefore(tr, self.rows.children[i] || null); }
    });
    if (!self.items.length) {
      var tr0 = el("tr");
      var td0 = el("td", "", t("queue-empty"));
      td0.colSpan = 6;
      tr0.appendChild(td0);
      self.rows.appendChild(tr0);
    }
    Array.prototype.forEach.call(self.root.querySelectorAll("form[action='/chat/desk/next'] button"), function (b) {
      b.disabled = !f.canAccept;
    });
    var cannot = self.root.querySelector("[data-chat-cannot-accept]");
    if (cannot) { cannot.hidden = !!f.canAccept; }
    self.announce();
  };
  // announce tells of the conversations that came into the queue since the
  // last frame: the newest one's topic and how many wait now.
  Queue.prototype.announce = function () {
    var self = this;
    var known = {};
    var arrived = null;
    self.items.forEach(function (x) {
      var key = String(Number(x.it.conv));
      known[key] = true;
      if (!self.known[key]) { arrived = x.it; }
    });
    self.known = known;
    if (arrived && self.live) {
      self.live.textContent = t("queue-arrived", { topic: t("topic-" + arrived.topic) || arrived.topic, waiting: self.items.length });
    }
  };
  // row builds an empty row of the table for a conversation, with its
  // accept button.
  Queue.prototype.row = function (conv) {
    var tr = el("tr");
    tr.setAttribute("data-conv", Number(conv));
    for (var i = 0; i < 5; i++) { tr.appendChild(el("td")); }
    var td = el("td");
    var form = el("form");
    form.method = "post";
    form.action = "/chat/desk/c/" + Number(conv) + "/accept";
    var hidden = el("input");
    hidden.type = "hidden";
    hidden.name = "_csrf";
    hidden.value = this.csrf;
    var btn = el("button", "hds-button hds-button--secondary hds-button--small", t("accept"));
    btn.type = "submit";
    form.appendChild(hidden);
    form.appendChild(btn);
    td.appendChild(form);
    tr.appendChild(td);
    return tr;
  };
  Queue.prototype.tick = function () {
    var now = Date.now();
    this.items.forEach(function (x) {
      if (x.cell) {
        var min = Math.floor(((x.it.waitingSeconds || 0) + (now - x.at) / 1000) / 60);
        x.cell.textContent = t("minutes", { minutes: min });
      }
    });
  };

  var chatRoot = document.querySelector("[data-chat]");
  if (chatRoot) { new Chat(chatRoot); }
  var queueRoot = document.querySelector("[data-chat-queue]");
  if (queueRoot) { new Queue(queueRoot); }
})();
