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

  // Socket keeps one WebSocket open: it reconnects with jittered
  // exponential back-off and calls onOpen each time, so the page resumes.
  function Socket(url, handlers) {
    this.url = url;
    this.h = handlers;
    this.attempts = 0;
    this.stopped = false;
    this.ws = null;
    this.connect();
  }
  Socket.prototype.connect = function () {
    var self = this;
    if (self.stopped) { return; }
    self.h.onState("connecting");
    var ws;
    try { ws = new WebSocket(self.url); } catch (e) { self.retry(); return; }
    self.ws = ws;
    ws.onopen = function () {
      self.attempts = 0;
      self.h.onState("online");
      self.send({ type: "hello", v: 1 });
      self.h.onOpen();
    };
    ws.onmessage = function (ev) {
      String(ev.data).split("\n").forEach(function (line) {
        if (!line) { return; }
        var f;
        try { f = JSON.parse(line); } catch (e) { return; }
        self.h.onFrame(f);
      });
    };
    ws.onclose = function (ev) {
      self.ws = null;
      if (ev.code === 4401) { self.stop("session_ended"); return; }
      if (ev.code === 1008) {
        if (ev.reason === "too_many_sockets" || ev.reason === "bad_frame") { self.stop(ev.reason); return; }
        self.h.onState("error", ev.reason);
        self.retry(5000);
        return;
      }
      self.h.onState("offline");
      self.retry();
    };
  };
  Socket.prototype.retry = function (minDelay) {
    var self = this;
    if (self.stopped) { return; }
    var base = Math.min(30000, 500 * Math.pow(2, self.attempts));
    self.attempts++;
    var delay = Math.max(minDelay || 0, base * (0.5 + Math.random()));
    setTimeout(function () { self.connect(); }, delay);
  };
  Socket.prototype.stop = function (reason) {
    this.stopped = true;
    this.h.onState("error", reason);
  };
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

  function fmtTime(iso) {
    var d = new Date(iso);
    if (isNaN(d)) { return ""; }
    return d.toLocaleTimeString(document.documentElement.lang || "fi", { hour: "2-digit", minute: "2-digit" });
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
    if (root.hasAttribute("data-readonly")) { return; }

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
    self.list.lastElementChild && self.list.lastElementChild.scrollIntoView({ block: "end" });
  }

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
  Chat.prototype.setStatusNote = function (text) {
    var n = this.root.querySelector(".chat__conn");
    if (!n) { n = el("p", "chat__conn"); n.setAttribute("role", "status"); this.root.insertBefore(n, this.list); }
    n.textContent = text;
    n.hidden = !text;
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
    li.scrollIntoView({ block: "end" });
  };

  Chat.prototype.messageEl = function (m) {
    var own = m.from === this.role;
    var li = el("li", "chat-msg chat-msg--" + (m.kind === "system" ? "system" : own ? "own" : "peer"));
    if (m.seq) { li.setAttribute("data-seq", m.seq); }
    if (m.cid) { li.setAttribute("data-cid", m.cid); }
    if (m.kind === "system") {
      li.appendChild(el("p", "chat-msg__body", t(m.event, { name: m.name || "" })));
      var meta0 = el("p", "chat-msg__meta");
      meta0.appendChild(el("time", "", fmtTime(m.at)));
      li.appendChild(meta0);
      return li;
    }
    var meta = el("p", "chat-msg__meta");
    var who = own ? t("you") : m.from === "advisor" ? (m.name || t("advisor")) : this.peerName || t("resident");
    meta.appendChild(el("span", "chat-msg__who", who));
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(el("time", "", fmtTime(m.at)));
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
        if (f.conv === self.conv && f.position) {
          self.statusEl.textContent = t("queue", { position: f.position, estimate: f.estimate });
        }
        break;
      case "note":
        if (self.notes) {
          var n = el("li");
          n.appendChild(el("p", "chat-msg__meta", f.author + " · " + fmtTime(f.at)));
          n.appendChild(el("p", "chat-msg__body", f.body));
          self.notes.appendChild(n);
        }
        break;
      case "left":
        self.showState("closed");
        if (self.sock) { self.sock.stopped = true; }
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
    li.scrollIntoView({ block: "end" });
    if (f.kind === "system") {
      if (f.event === "accepted" || f.event === "transferred") { this.showState("active", f.name); }
      if (f.event === "requeued") { this.showState("queued"); }
      if (f.event === "closed" || f.event === "ended") { this.showState("closed"); }
    } else if (f.from !== this.role) {
      this.typingEl.textContent = "";
      this.receipts();
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
      var end = this.root.querySelector(".chat__end");
      if (end) { end.hidden = true; }
      this.statusEl.textContent = t("state-closed");
      if (this.sock) { this.sock.stopped = true; }
    } else if (status === "active" && advisor && this.role === "resident") {
      this.statusEl.textContent = t("with-advisor", { name: advisor });
    }
  };

  // Queue: the advisor's live queue on the chat desk.
  function Queue(root) {
    var self = this;
    self.root = root;
    self.rows = root.querySelector("[data-chat-queue-rows]");
    self.csrf = root.getAttribute("data-csrf");
    self.sock = new Socket(root.getAttribute("data-ws"), {
      onState: function () {},
      onOpen: function () {},
      onFrame: function (f) { if (f.type === "queue" && f.items !== undefined) { self.render(f); } }
    });
    keepAlive();
  }
  Queue.prototype.render = function (f) {
    var self = this;
    while (self.rows.firstChild) { self.rows.removeChild(self.rows.firstChild); }
    var items = f.items || [];
    if (!items.length) {
      var tr0 = el("tr");
      var td0 = el("td", "", t("queue-empty"));
      td0.colSpan = 6;
      tr0.appendChild(td0);
      self.rows.appendChild(tr0);
    }
    items.forEach(function (it) {
      var tr = el("tr", it.ownRegion ? "chat-queue__own" : "");
      tr.appendChild(el("td", "", t("topic-" + it.topic) || it.topic));
      tr.appendChild(el("td", "", it.lang));
      tr.appendChild(el("td", "", it.region || ""));
      tr.appendChild(el("td", "", it.identified ? t("identified") : t("unidentified")));
      tr.appendChild(el("td", "", t("minutes", { minutes: it.minutes })));
      var td = el("td");
      var form = el("form");
      form.method = "post";
      form.action = "/chat/desk/c/" + Number(it.conv) + "/accept";
      var hidden = el("input");
      hidden.type = "hidden";
      hidden.name = "_csrf";
      hidden.value = self.csrf;
      var btn = el("button", "hds-button hds-button--secondary hds-button--small", t("accept"));
      btn.type = "submit";
      btn.disabled = !f.canAccept;
      form.appendChild(hidden);
      form.appendChild(btn);
      td.appendChild(form);
      tr.appendChild(td);
      self.rows.appendChild(tr);
    });
    Array.prototype.forEach.call(self.root.querySelectorAll("form[action='/chat/desk/next'] button"), function (b) {
      b.disabled = !f.canAccept;
    });
  };

  var chatRoot = document.querySelector("[data-chat]");
  if (chatRoot) { new Chat(chatRoot); }
  var queueRoot = document.querySelector("[data-chat-queue]");
  if (queueRoot) { new Queue(queueRoot); }
})();
