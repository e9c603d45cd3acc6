// The copy buttons: data-copy names the input whose value is copied.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (btn) {
    var input = document.getElementById(btn.dataset.copy), status = document.getElementById("copy-status");
    function done(ok) { status.textContent = ok ? "Copied." : "Select the token and copy it (Ctrl+C)."; }
    btn.addEventListener("click", function () {
      input.focus();
      input.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      if (copied || !navigator.clipboard) { done(copied); return; }
      navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () { done(false); });
    });
    btn.dataset.ready = "true";
  });
})();
