// alertgate web UI: copy buttons, the integration type picker, live incident lists.
// Plain browser JavaScript, no dependencies; every page works without it except polling.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain-http servers are not a secure context: fall back to a selection copy.
  return new Promise(function (resolve, reject) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    document.body.removeChild(area);
    if (ok) { resolve(); } else { reject(new Error("copy failed")); }
  });
}

function setupCopyButtons() {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.querySelector(button.getAttribute("data-copy"));
      var status = document.querySelector('[data-copy-status-for="' + input.id + '"]');
      copyText(input.value).then(function () {
        button.textContent = "Copied";
        if (status) { status.textContent = "Copied to the clipboard."; }
      }, function () {
        input.select();
        if (status) { status.textContent = "Press Ctrl+C (or Cmd+C) to copy the selected text."; }
      });
    });
  });
  document.querySelectorAll(".copy input[readonly]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
}

function setupTypePicker() {
  var radios = document.querySelectorAll('input[type=radio][name="type"]');
  var panels = document.querySelectorAll("[data-type-settings]");
  if (!radios.length) { return; }
  function sync() {
    var chosen = document.querySelector('input[type=radio][name="type"]:checked');
    panels.forEach(function (panel) {
      panel.hidden = !chosen || panel.getAttribute("data-type-settings") !== chosen.value;
    });
  }
  radios.forEach(function (radio) { radio.addEventListener("change", sync); });
  sync();
}

function setupConfirm() {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
}

function setupPolling() {
  document.querySelectorAll("tbody[data-poll]").forEach(function (tbody) {
    var url = tbody.getAttribute("data-poll");
    var every = parseInt(tbody.getAttribute("data-poll-interval"), 10) || 5000;
    var count = document.querySelector("[data-incident-count]");
    var timer = null;
    function schedule() { timer = window.setTimeout(poll, every); }
    function poll() {
      if (document.hidden) { schedule(); return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.status === 401) {
            if (count) { count.textContent = "Signed out: reload the page to sign in again."; }
            return null;
          }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          var total = response.headers.get("X-Total-Count");
          return response.text().then(function (html) {
            if (html !== tbody.getAttribute("data-last")) {
              tbody.innerHTML = html;
              tbody.setAttribute("data-last", html);
            }
            if (count && total !== null) {
              var shown = tbody.querySelectorAll("tr[data-incident]").length;
              var n = parseInt(total, 10);
              var text = n + " incident" + (n === 1 ? "" : "s") +
                (n > shown ? ", newest " + shown + " shown" : "");
              // Unchanged text is left alone so screen readers do not repeat it.
              if (count.textContent !== text) { count.textContent = text; }
            }
            schedule();
          });
        })
        .catch(function () { schedule(); });
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && timer !== null) { window.clearTimeout(timer); poll(); }
    });
    schedule();
  });
}

document.addEventListener("DOMContentLoaded", function () {
  setupCopyButtons();
  setupTypePicker();
  setupConfirm();
  setupPolling();
});
