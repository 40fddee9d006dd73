// The hosted face-authentication page: one live selfie, checked on the
// server (passive liveness and 1:1 against the enrolled face). No build
// step, no dependencies; the page works from /state alone.
"use strict";
(function () {
  var TEXTS = {
    en: { title: "Face authentication", loading: "Loading…", hint: "Look at the camera, keep your face inside the oval, then take the photo.",
      shoot: "Take photo", checking: "Checking…", retry: "Not recognised. Try again: {n} left.", ok: "You are authenticated",
      okText: "You can close this page and return.", failed: "Authentication failed", failedText: "We could not confirm it is you.",
      expired: "This link has expired", expiredText: "Ask for a new one.", notFound: "This link is not valid", camera: "We need your camera to check your face.",
      noFace: "No face found: come closer and face the camera.", many: "Only one person, please.", error: "Something went wrong. Try again.",
      photoTitle: "Take a photo", photoDone: "Photo taken", photoDoneText: "You can close this page and return." },
    fr: { title: "Authentification faciale", loading: "Chargement…", hint: "Regardez la caméra, gardez votre visage dans l'ovale, puis prenez la photo.",
      shoot: "Prendre la photo", checking: "Vérification…", retry: "Non reconnu. Réessayez : encore {n}.", ok: "Vous êtes authentifié",
      okText: "Vous pouvez fermer cette page.", failed: "Échec de l'authentification", failedText: "Nous n'avons pas pu confirmer votre identité.",
      expired: "Ce lien a expiré", expiredText: "Demandez-en un nouveau.", notFound: "Ce lien n'est pas valide", camera: "Nous avons besoin de votre caméra.",
      noFace: "Aucun visage : approchez-vous face à la caméra.", many: "Une seule personne, s'il vous plaît.", error: "Une erreur est survenue. Réessayez.",
      photoTitle: "Prendre une photo", photoDone: "Photo prise", photoDoneText: "Vous pouvez fermer cette page." },
    es: { title: "Autenticación facial", loading: "Cargando…", hint: "Mire a la cámara, mantenga la cara dentro del óvalo y tome la foto.",
      shoot: "Tomar foto", checking: "Comprobando…", retry: "No reconocido. Inténtelo de nuevo: quedan {n}.", ok: "Está autenticado",
      okText: "Puede cerrar esta página.", failed: "Autenticación fallida", failedText: "No pudimos confirmar que es usted.",
      expired: "Este enlace ha caducado", expiredText: "Pida uno nuevo.", notFound: "Este enlace no es válido", camera: "Necesitamos su cámara.",
      noFace: "No se ve ninguna cara: acérquese a la cámara.", many: "Solo una persona, por favor.", error: "Algo salió mal. Inténtelo de nuevo.",
      photoTitle: "Tome una foto", photoDone: "Foto tomada", photoDoneText: "Puede cerrar esta página." }
  };
  var token = location.pathname.split("/").filter(Boolean).pop();
  var t = TEXTS.en;
  var $ = function (id) { return document.getElementById(id); };

  function translate(locale) {
    t = TEXTS[locale] || TEXTS.en;
    document.documentElement.lang = TEXTS[locale] ? locale : "en";
    document.querySelectorAll("[data-t]").forEach(function (el) { el.textContent = t[el.getAttribute("data-t")]; });
  }
  function show(id) {
    ["loading", "capture", "done"].forEach(function (s) { $(s).hidden = s !== id; });
  }
  // The page that opened this one (popup) or framed it, when it said who
  // it is (#origin=…, set by /sdk/visage.js), hears the result: status
  // only, never a token; the client confirms it on its server.
  var opener = (function () {
    var m = /(?:^#|&)origin=([^&]+)/.exec(location.hash);
    if (!m) { return null; }
    var o = decodeURIComponent(m[1]);
    return /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/.test(o) ? o : null;
  })();
  var kind = "authenticate";
  function tell(status, reason, bestImageToken) {
    if (!opener) { return; }
    var msg = { source: "visage", type: kind === "best_image" ? "best-image.result" : "face-auth.result", status: status, reason: reason || null };
    if (bestImageToken) { msg.bestImageToken = bestImageToken; }
    try {
      if (window.opener && window.opener !== window) { window.opener.postMessage(msg, opener); }
      if (window.parent && window.parent !== window) { window.parent.postMessage(msg, opener); }
    } catch (e) { /* the other page went away */ }
  }
  function finish(title, text, status, reason, bestImageToken) {
    tell(status, reason, bestImageToken);
    document.body.setAttribute("data-status", status);
    $("done-title").textContent = title;
    $("done-text").textContent = text;
    show("done");
    var v = $("video");
    if (v.srcObject) { v.srcObject.getTracks().forEach(function (tr) { tr.stop(); }); }
  }
  function feedback(msg) { var f = $("feedback"); f.textContent = msg; f.hidden = !msg; }

  function render(st) {
    kind = st.kind || kind;
    if (kind === "best_image") { $("title").textContent = t.photoTitle; }
    if (st.status === "completed" && kind === "best_image") { return finish(t.photoDone, t.photoDoneText, "completed", null, st.best_image_token); }
    if (st.status === "completed") { return finish(t.ok, t.okText, "completed"); }
    if (st.status === "failed") { return finish(t.failed, t.failedText, "failed", st.reason); }
    if (st.status === "expired") { return finish(t.expired, t.expiredText, "expired"); }
    document.body.setAttribute("data-status", "in_progress");
    if (st.attempts > 0) { feedback(t.retry.replace("{n}", String(st.max_attempts - st.attempts))); }
  }

  function startCamera() {
    show("capture");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false })
      .then(function (stream) { $("video").srcObject = stream; $("shoot").disabled = false; })
      .catch(function () { feedback(t.camera); });
  }

  function shoot() {
    var v = $("video");
    if (!v.videoWidth) { return; }
    var c = document.createElement("canvas");
    c.width = v.videoWidth; c.height = v.videoHeight;
    c.getContext("2d").drawImage(v, 0, 0);
    $("shoot").disabled = true;
    feedback(t.checking);
    c.toBlob(function (blob) {
      var fd = new FormData();
      fd.append("selfie", blob, "selfie.jpg");
      fetch(token + "/selfie", { method: "POST", body: fd, credentials: "omit" })
        .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
        .then(function (res) {
          $("shoot").disabled = false;
          if (res.ok) { feedback(""); return render(res.body); }
          var code = res.body && res.body.error && res.body.error.code;
          feedback(code === "no_face" ? t.noFace : code === "multiple_faces" ? t.many : t.error);
          if (code === "closed" || code === "expired") { load(); }
        })
        .catch(function () { $("shoot").disabled = false; feedback(t.error); });
    }, "image/jpeg", 0.92);
  }

  // The state is polled while the session runs: the person may finish on
  // another device (a phone, through the code), and this page then shows
  // and tells the result too.
  var polling = null;
  function load() {
    fetch(token + "/state", { credentials: "omit" })
      .then(function (r) { if (!r.ok) { throw r; } return r.json(); })
      .then(function (st) {
        translate(st.locale);
        render(st);
        if (st.status !== "in_progress") { if (polling) { clearInterval(polling); } return; }
        if (!$("video").srcObject) { startCamera(); }
        if (!polling) { polling = setInterval(load, 3000); }
      })
      .catch(function (e) {
        if (e && e.status === 404) { if (polling) { clearInterval(polling); } finish(t.notFound, "", "not_found"); }
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("shoot").addEventListener("click", shoot);
    load();
  });
})();
