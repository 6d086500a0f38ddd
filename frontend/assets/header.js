// The header's menu button on narrow screens: the Chat link, the languages
// and the login fold under one button instead of filling the first screen.
// Without JavaScript they stay in view as they are (the button never shows).
(function () {
  "use strict";
  var toggle = document.querySelector("[data-header-menu]");
  var panel = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  if (!panel) { return; }
  document.documentElement.classList.add("has-js");
  toggle.hidden = false;
  function set(open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    panel.classList.toggle("is-open", open);
  }
  toggle.addEventListener("click", function () {
    set(toggle.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
      set(false);
      toggle.focus();
    }
  });
})();
