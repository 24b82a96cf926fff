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

// Replaces a live table body with fresh rows, keeping what the user is doing: the focused
// control (by id), ticked checkboxes, and marks rows whose content changed.
function replaceRows(tbody, html) {
  var focused = document.activeElement && tbody.contains(document.activeElement) ?
    document.activeElement.id : null;
  var versions = {};
  var ticked = {};
  tbody.querySelectorAll("tr[data-incident]").forEach(function (row) {
    versions[row.getAttribute("data-incident")] = row.getAttribute("data-version");
  });
  tbody.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
    ticked[box.id] = true;
  });
  tbody.innerHTML = html;
  tbody.querySelectorAll("tr[data-incident]").forEach(function (row) {
    var id = row.getAttribute("data-incident");
    if (versions[id] !== row.getAttribute("data-version")) { row.classList.add("changed"); }
  });
  tbody.querySelectorAll("input[type=checkbox]").forEach(function (box) {
    if (ticked[box.id] && !box.disabled) { box.checked = true; }
  });
  if (focused) {
    var again = document.getElementById(focused);
    if (again) { again.focus(); }
  }
}

function setLive(live, ok) {
  if (!live) { return; }
  var text = ok ? "Live: updates every few seconds" : "Disconnected, retrying…";
  if (live.textContent !== text) { live.textContent = text; }
  live.classList.toggle("disconnected", !ok);
}

function setupPolling() {
  document.querySelectorAll("tbody[data-poll]").forEach(function (tbody) {
    var url = tbody.getAttribute("data-poll");
    var every = parseInt(tbody.getAttribute("data-poll-interval"), 10) || 5000;
    var count = document.querySelector("[data-incident-count]");
    var live = document.querySelector("[data-live]");
    var timer = null;
    function schedule() { timer = window.setTimeout(poll, every); }
    function poll() {
      if (document.hidden) { schedule(); return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.status === 401) {
            if (count) { count.textContent = "Signed out: reload the page to sign in again."; }
            setLive(live, false);
            return null;
          }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          var total = response.headers.get("X-Total-Count");
          return response.text().then(function (html) {
            setLive(live, true);
            if (html !== tbody.getAttribute("data-last")) {
              if (tbody.getAttribute("data-last") !== null) { replaceRows(tbody, html); }
              tbody.setAttribute("data-last", html);
            }
            if (count && total !== null) {
              var shown = tbody.querySelectorAll("tr[data-incident]").length;
              var n = parseInt(total, 10);
              var text = n + " incident" + (n === 1 ? "" : "s") +
                (n > shown ? ", " + shown + " on this page" : "");
              // Unchanged text is left alone so screen readers do not repeat it.
              if (count.textContent !== text) { count.textContent = text; }
            }
            schedule();
          });
        })
        .catch(function () { setLive(live, false); schedule(); });
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && timer !== null) { window.clearTimeout(timer); poll(); }
    });
    poll();
  });
}

function setupConfirmButtons() {
  document.querySelectorAll("button[data-confirm-submit]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm-submit"))) { event.preventDefault(); }
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  setupCopyButtons();
  setupTypePicker();
  setupConfirm();
  setupPolling();
  setupConfirmButtons();
});
