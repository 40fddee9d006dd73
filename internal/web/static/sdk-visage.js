/*! Visage web helper: open a hosted Visage page (face authentication)
 * in a popup or an iFrame and resolve with its result. No build step, no
 * dependencies: <script src="https://VISAGE/sdk/visage.js"></script>.
 *
 *   Visage.authenticate({ url: session.url,            // from POST /partner/authentication-info
 *                         mode: "popup" | "iframe",    // default popup
 *                         container: element })       // iframe mode: where to put it
 *     .then(function (r) { r.status; r.reason; })       // "completed" | "failed" | "expired" | "closed"
 *
 *   Visage.captureBestImage({ url: session.url })      // from POST /v1/tokens/best-image/sessions
 *     .then(function (r) { r.status; r.bestImageToken; }) // send the token to your server
 *
 * The result is a hint for the user interface only: confirm it on your
 * server (the facialAuthentication webhook or POST /partner/authentication-status)
 * before you let anyone in.
 */
(function (root) {
  "use strict";
  function originOf(u) { var a = document.createElement("a"); a.href = u; return a.protocol + "//" + a.host; }

  function authenticate(opts) { return open(opts, "face-auth.result", "Visage.authenticate"); }
  function captureBestImage(opts) { return open(opts, "best-image.result", "Visage.captureBestImage"); }

  // open shows a hosted page and resolves with the first result message
  // of type from it.
  function open(opts, type, name) {
    opts = opts || {};
    if (!opts.url) { return Promise.reject(new Error(name + ": url is required")); }
    var visageOrigin = originOf(opts.url);
    var target = opts.url.split("#")[0] + "#origin=" + encodeURIComponent(location.origin);
    return new Promise(function (resolve, reject) {
      var win = null, frame = null, timer = null, done = false;
      function finish(result) {
        if (done) { return; }
        done = true;
        window.removeEventListener("message", onMessage);
        if (timer) { clearInterval(timer); }
        if (frame && frame.parentNode && !opts.keepFrame) { frame.parentNode.removeChild(frame); }
        resolve(result);
      }
      function onMessage(ev) {
        if (ev.origin !== visageOrigin || !ev.data || ev.data.source !== "visage") { return; }
        if (ev.data.type === type) {
          if (win && !win.closed) { win.close(); }
          var r = { status: ev.data.status, reason: ev.data.reason || null };
          if (ev.data.bestImageToken) { r.bestImageToken = ev.data.bestImageToken; }
          finish(r);
        }
      }
      window.addEventListener("message", onMessage);
      if (opts.mode === "iframe") {
        var parent = opts.container || document.body;
        frame = document.createElement("iframe");
        frame.src = target;
        frame.allow = "camera";
        frame.title = opts.title || "Face authentication";
        frame.style.border = "0";
        frame.style.width = opts.width || "100%";
        frame.style.height = opts.height || "640px";
        parent.appendChild(frame);
        return;
      }
      win = window.open(target, "visage-face-auth", "popup,width=480,height=760");
      if (!win) {
        window.removeEventListener("message", onMessage);
        reject(new Error(name + ": the popup was blocked; call it from a click"));
        return;
      }
      timer = setInterval(function () { if (win.closed) { finish({ status: "closed", reason: null }); } }, 500);
    });
  }

  root.Visage = { authenticate: authenticate, captureBestImage: captureBestImage, version: "1" };
})(window);
