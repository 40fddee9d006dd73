// Visage hosted capture page: face-2FA registration with active liveness.
//
// Flow: GET ./{token}/state → theme + steps → camera → one frame every
// ~350 ms to POST ./{token}/frame (never more than one in flight) → the
// server says which challenge is next, whether it was met, and what to tell
// the person → success or failure screen → redirect_url after 2 s.
//
// Test hooks: document.body.dataset.status mirrors the session status
// (plus "loading", "not_found" and "error" on the client side),
// dataset.challenge the active challenge, dataset.camera the camera state
// ("starting", "on", "denied", "missing", "busy", "unsupported", "error",
// "off").
(function () {
  'use strict';

  var FRAME_INTERVAL_MS = 350;   // from the start of one upload to the next
  var MIN_GAP_MS = 60;           // breathing room after a slow answer
  var MET_PAUSE_MS = 900;        // let the person see "done" and relax
  var REDIRECT_DELAY_MS = 2000;
  var MAX_SIDE = 640;            // frames are at most 640 px on the long side
  var JPEG_QUALITY = 0.85;

  // Default English texts. The theme's `texts` override any of them by key:
  // a feedback code, "challenge_" + a challenge ("challenge_smile"), a
  // failure reason, or one of the page keys.
  var TEXTS = {
    title: 'Face check',
    intro: 'Allow camera access to start',
    hint: 'Keep your face inside the oval.',
    success: 'All done',
    success_text: 'Your face has been registered. You can close this page.',
    failure: "We couldn't check your face",
    failure_text: 'The face check did not succeed.',
    expired_title: 'This link has expired',
    expired_text: 'Ask for a new link and try again.',
    not_found_title: 'This link is not valid',
    not_found_text: 'It may have been used already. Ask for a new link.',
    error_title: 'Something went wrong',
    error_text: "We couldn't reach the server. Check your connection and try again.",
    redirect: 'Taking you back to {host}…',
    step_of: 'Step {n} of {total}',
    connection: 'Connection problem — retrying…',
    camera_title: 'Camera needed',
    camera_denied: "Camera access was blocked. Allow the camera for this site (usually the camera icon in the address bar or your browser's site settings), then tap Try again.",
    camera_missing: 'No camera was found. Connect a camera, or open this link on your phone.',
    camera_busy: 'Your camera is being used by another app. Close that app, then tap Try again.',
    camera_unsupported: "This browser can't use the camera on this page. Open the link in an up-to-date Chrome, Firefox or Safari.",
    camera_error: "We couldn't start your camera. Tap Try again.",

    challenge_smile: 'Smile!',
    challenge_blink: 'Blink your eyes',
    challenge_turn_left: 'Turn your head to your left',
    challenge_turn_right: 'Turn your head to your right',

    superseded: 'This link was replaced by a newer one. Use the latest link you received.',
    already_registered: 'This face is already registered.',
    too_many_frames: 'This took too long. Open the link again to try once more.',
    duplicate_face: 'This face is already registered to another account.',
    images_refused: 'The pictures were not accepted.',

    no_face: 'Put your face inside the oval',
    multiple_faces: 'Only one face, please',
    move_closer: 'Move closer',
    too_dark: 'Too dark — find more light',
    too_bright: 'Too bright — avoid direct light',
    hold_still: 'Hold still',
    look_straight: 'Look straight at the camera',
    spoof_suspected: 'Photo or screen detected — use your real face',
    face_mismatch: "That doesn't look like the same person",
    smile: 'Smile!',
    blink_now: 'Blink now',
    open_eyes: 'Open your eyes',
    turn_left: 'Turn your head left',
    turn_right: 'Turn your head right',
    challenge_met: 'Great — done!',
    completed: 'All done',
    failed: 'Face check failed',
    expired: 'This session has expired'
  };

  // How a feedback code colours the oval and the feedback dot.
  var TONE = {
    challenge_met: 'ok', completed: 'ok',
    smile: 'act', blink_now: 'act', open_eyes: 'act', turn_left: 'act', turn_right: 'act'
  };

  var SVGNS = 'http://www.w3.org/2000/svg';
  // Icon paths on a 24×24 grid, stroked.
  var CUES = {
    smile: ['M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18Z', 'M8 14.5q4 3.5 8 0', 'M9 9.5v.5', 'M15 9.5v.5'],
    blink: ['M3 12q9 7 18 0', 'M6 14.5l-1.5 2', 'M12 16v2.5', 'M18 14.5l1.5 2'],
    // The preview is a mirror: turning to your left moves your face to the
    // left of the screen, so the arrows point the way the person moves.
    turn_left: ['M19 12H5', 'M11 6l-6 6l6 6'],
    turn_right: ['M5 12h14', 'M13 6l6 6l-6 6']
  };

  var $ = function (id) { return document.getElementById(id); };
  var body = document.body;
  var base = location.pathname.replace(/\/+$/, '');
  var texts = Object.assign({}, TEXTS);

  var state = null;        // last CaptureState / FrameResult merged
  var stream = null;
  var running = false;     // the frame loop is on
  var inFlight = false;
  var timer = 0;
  var failures = 0;        // consecutive transport failures
  var quality = JPEG_QUALITY;
  var finished = false;
  var lastFeedback = '';

  function t(key, vars) {
    var s = texts[key];
    if (s == null) return '';
    if (vars) s = s.replace(/\{(\w+)\}/g, function (m, k) { return vars[k] != null ? String(vars[k]) : m; });
    return s;
  }

  function show(el, on) { el.hidden = !on; }

  function setStatus(s) { body.dataset.status = s; }

  // ---------- theme ----------

  function validColor(v) {
    return typeof v === 'string' && v.length > 0 && v.length < 64 &&
      window.CSS && CSS.supports && CSS.supports('color', v);
  }

  // rgb() of any CSS colour, through the computed style of a probe.
  function rgbOf(color) {
    var probe = document.createElement('span');
    probe.style.color = color;
    probe.hidden = true;
    body.appendChild(probe);
    var m = getComputedStyle(probe).color.match(/rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/);
    probe.remove();
    return m ? [+m[1], +m[2], +m[3]] : null;
  }

  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  function safeImageURL(u) {
    if (typeof u !== 'string' || !u) return '';
    if (/^data:image\/(png|jpeg|gif|webp|svg\+xml)[;,]/i.test(u)) return u;
    try {
      var url = new URL(u, location.href);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : '';
    } catch (e) { return ''; }
  }

  function applyTheme(theme) {
    theme = theme || {};
    if (theme.texts && typeof theme.texts === 'object') {
      Object.keys(theme.texts).forEach(function (k) {
        if (typeof theme.texts[k] === 'string' && theme.texts[k]) texts[k] = theme.texts[k];
      });
    }
    var root = document.documentElement.style;
    if (validColor(theme.background)) {
      root.setProperty('--bg', theme.background);
      // Panels stay white unless the background is dark.
      var bgRGB = rgbOf(theme.background);
      if (bgRGB && luminance(bgRGB) < 0.2) {
        root.setProperty('--surface', 'rgba(255,255,255,0.06)');
        root.setProperty('--border', 'rgba(255,255,255,0.18)');
      }
    }
    if (validColor(theme.text_color)) root.setProperty('--fg', theme.text_color);
    if (validColor(theme.primary_color)) root.setProperty('--primary', theme.primary_color);

    // Keep text readable whatever the theme says (WCAG AA: 4.5:1).
    var cs = getComputedStyle(document.documentElement);
    var bg = rgbOf(cs.getPropertyValue('--bg').trim());
    var fg = rgbOf(cs.getPropertyValue('--fg').trim());
    var primary = rgbOf(cs.getPropertyValue('--primary').trim());
    if (bg && fg && contrast(fg, bg) < 4.5) {
      fg = contrast([0, 0, 0], bg) >= contrast([255, 255, 255], bg) ? [20, 24, 32] : [255, 255, 255];
      root.setProperty('--fg', 'rgb(' + fg.join(',') + ')');
    }
    if (bg && fg) {
      // Muted text: as far toward the background as still reads at 4.5:1.
      for (var w = 0.7; w <= 1.0001; w += 0.05) {
        var mix = [0, 1, 2].map(function (i) { return Math.round(fg[i] * w + bg[i] * (1 - w)); });
        if (contrast(mix, bg) >= 4.5 || w > 0.99) {
          root.setProperty('--muted', 'rgb(' + mix.join(',') + ')');
          break;
        }
      }
    }
    if (primary) {
      var onPrimary = contrast([255, 255, 255], primary) >= contrast([20, 24, 32], primary) ? '#ffffff' : '#141820';
      root.setProperty('--on-primary', onPrimary);
      if (bg) root.setProperty('--accent', contrast(primary, bg) >= 3 ? 'var(--primary)' : 'var(--fg)');
    }

    var logo = $('logo');
    var src = safeImageURL(theme.logo_url);
    if (src) {
      logo.alt = theme.name || '';
      logo.addEventListener('error', function () { logo.hidden = true; }, { once: true });
      logo.src = src;
      logo.hidden = false;
    }
    $('brand-name').textContent = theme.name || '';
    document.querySelector('.brand').hidden = !src && !theme.name;
    $('title').textContent = t('title');
    document.title = theme.name ? t('title') + ' — ' + theme.name : t('title');
    $('hint').textContent = t('hint');
  }

  // ---------- progress and instructions ----------

  function steps() { return (state && state.steps) || []; }

  function activeStep() {
    if (!state || state.status !== 'in_progress') return null;
    var s = steps();
    var i = state.current;
    return i >= 0 && i < s.length ? s[i] : null;
  }

  function renderProgress() {
    var list = $('steps');
    var s = steps();
    if (list.children.length !== s.length) {
      list.textContent = '';
      s.forEach(function (_, i) {
        var li = document.createElement('li');
        li.className = 'step';
        li.dataset.step = String(i);
        list.appendChild(li);
      });
    }
    s.forEach(function (step, i) {
      var li = list.children[i];
      li.dataset.challenge = step.challenge;
      li.classList.toggle('done', !!step.done);
      li.classList.toggle('active', i === state.current && !step.done);
      li.dataset.state = step.done ? 'done' : (i === state.current ? 'active' : 'pending');
    });
    var n = Math.min(state.current + 1, s.length);
    var label = t('step_of', { n: n, total: s.length });
    $('step-count').textContent = label;
    $('progress').setAttribute('aria-label', label);
  }

  function setCue(challenge) {
    var cue = $('cue');
    cue.textContent = '';
    var paths = CUES[challenge];
    if (!paths) return;
    var svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    paths.forEach(function (d) {
      var p = document.createElementNS(SVGNS, 'path');
      p.setAttribute('d', d);
      svg.appendChild(p);
    });
    cue.appendChild(svg);
  }

  function renderInstruction() {
    var step = activeStep();
    if (!step) {
      delete body.dataset.challenge;
      return;
    }
    body.dataset.challenge = step.challenge;
    var text = t('challenge_' + step.challenge) || t('hint');
    var el = $('instruction');
    if (el.textContent !== text) el.textContent = text;
    setCue(step.challenge);
  }

  function setFeedback(code, message) {
    var el = $('feedback');
    var text = (code && t(code)) || message || '';
    var tone = TONE[code] || (code ? 'warn' : '');
    $('stage').dataset.tone = tone;
    if (!text) {
      el.hidden = true;
      lastFeedback = '';
      return;
    }
    el.dataset.tone = tone;
    el.dataset.code = code || '';
    // Only touch the live region when the words change, so a screen reader
    // is not told "Move closer" three times a second.
    if (text !== lastFeedback) {
      el.textContent = text;
      lastFeedback = text;
    }
    el.hidden = false;
  }

  // ---------- final screens ----------

  function safeRedirect(u) {
    if (typeof u !== 'string' || !u) return null;
    try {
      var url = new URL(u, location.href);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
    } catch (e) { return null; }
  }

  function finish(s) {
    if (finished) return;
    finished = true;
    stopLoop();
    stopCamera();
    delete body.dataset.challenge;
    show($('loading'), false);
    show($('capture'), false);
    show($('camera-error'), false);
    var status = s.status;
    var panel;
    if (status === 'completed') {
      panel = $('success');
      $('success-title').textContent = t('success');
      $('success-text').textContent = t('success_text');
    } else {
      panel = $('failure');
      var title = t('failure'), text = s.reason ? reasonText(s) : t('failure_text');
      if (status === 'expired') { title = t('expired_title'); text = t('expired_text'); }
      if (status === 'not_found') { title = t('not_found_title'); text = t('not_found_text'); }
      if (status === 'error') { title = t('error_title'); text = t('error_text'); show($('reload'), true); }
      $('failure-title').textContent = title;
      $('failure-text').textContent = text;
    }
    show(panel, true);
    setStatus(status);
    var target = safeRedirect(s.redirect_url);
    if (target) {
      var note = panel.querySelector('.redirect');
      note.textContent = t('redirect', { host: target.host });
      note.hidden = false;
      setTimeout(function () { location.assign(target.href); }, REDIRECT_DELAY_MS);
    }
    var h = panel.querySelector('h2');
    if (h) { h.tabIndex = -1; h.focus({ preventScroll: true }); }
  }

  // A reason is a code ("spoof_suspected", "superseded"): the page's own
  // (themed) text, else the server's sentence, never the code itself.
  function reasonText(s) {
    return t(s.reason) || s.reason_message || t('failure_text');
  }

  // ---------- camera ----------

  function cameraFailed(err) {
    stopLoop();
    stopCamera();
    var name = (err && err.name) || '';
    var kind = 'error';
    if (name === 'NotAllowedError' || name === 'PermissionDeniedError' || name === 'SecurityError') kind = 'denied';
    else if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') kind = 'missing';
    else if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') kind = 'busy';
    else if (name === 'Unsupported') kind = 'unsupported';
    body.dataset.camera = kind;
    $('camera-error-title').textContent = t('camera_title');
    $('camera-error-text').textContent = t('camera_' + kind);
    show($('capture'), false);
    show($('camera-error'), true);
    $('retry').focus({ preventScroll: true });
  }

  function stopCamera() {
    if (stream) {
      stream.getTracks().forEach(function (tr) { tr.stop(); });
      stream = null;
    }
    var v = $('video');
    v.srcObject = null;
    if (body.dataset.camera === 'on') body.dataset.camera = 'off';
  }

  async function openCamera() {
    var ideal = {
      facingMode: 'user',
      width: { ideal: 640 },
      height: { ideal: 480 },
      frameRate: { ideal: 15, max: 30 }
    };
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: false, video: ideal });
    } catch (err) {
      // A camera that cannot meet the wishes still beats no camera.
      if (err && err.name === 'OverconstrainedError') {
        return navigator.mediaDevices.getUserMedia({ audio: false, video: true });
      }
      throw err;
    }
  }

  function videoReady(v) {
    if (v.videoWidth > 0) return Promise.resolve();
    return new Promise(function (resolve) {
      var done = function () { v.removeEventListener('loadedmetadata', done); resolve(); };
      v.addEventListener('loadedmetadata', done);
      setTimeout(done, 4000);
    });
  }

  async function startCamera() {
    if (finished) return;
    show($('camera-error'), false);
    show($('capture'), true);
    $('instruction').textContent = t('intro');
    setCue('');
    setFeedback('', '');
    body.dataset.camera = 'starting';
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraFailed({ name: 'Unsupported' });
      return;
    }
    try {
      stream = await openCamera();
    } catch (err) {
      cameraFailed(err);
      return;
    }
    if (finished) { stopCamera(); return; }
    var v = $('video');
    v.srcObject = stream;
    try { await v.play(); } catch (e) { /* autoplay of a muted stream; play() may still reject on some engines */ }
    await videoReady(v);
    var track = stream.getVideoTracks()[0];
    if (track) track.addEventListener('ended', function () { if (!finished) cameraFailed({ name: 'NotReadableError' }); });
    body.dataset.camera = 'on';
    renderInstruction();
    running = true;
    schedule(0);
  }

  // ---------- frame loop ----------

  function stopLoop() {
    running = false;
    clearTimeout(timer);
  }

  function schedule(ms) {
    clearTimeout(timer);
    if (running) timer = setTimeout(tick, ms);
  }

  function grab() {
    var v = $('video');
    var w = v.videoWidth, h = v.videoHeight;
    if (!w || !h || v.readyState < 2) return Promise.resolve(null);
    var scale = Math.min(1, MAX_SIDE / Math.max(w, h));
    var c = $('canvas');
    c.width = Math.round(w * scale);
    c.height = Math.round(h * scale);
    // Drawn as the camera sees it: not mirrored.
    c.getContext('2d').drawImage(v, 0, 0, c.width, c.height);
    return new Promise(function (resolve) { c.toBlob(resolve, 'image/jpeg', quality); });
  }

  async function tick() {
    if (!running || inFlight) return;
    if (document.hidden) { schedule(500); return; }
    var step = activeStep();
    if (!step) { stopLoop(); return; }
    var started = performance.now();
    var extra = 0;
    inFlight = true;
    try {
      var blob = await grab();
      if (!blob) { inFlight = false; schedule(100); return; }
      extra = await send(step.challenge, blob);
    } catch (e) {
      extra = transportTrouble();
    } finally {
      inFlight = false;
    }
    if (!running) return;
    var elapsed = performance.now() - started;
    schedule(Math.max(MIN_GAP_MS, FRAME_INTERVAL_MS - elapsed) + extra);
  }

  // send uploads one frame and applies the answer; it returns extra delay
  // before the next frame.
  async function send(challenge, blob) {
    var fd = new FormData();
    fd.append('challenge', challenge);
    fd.append('nonce', state.nonce || '');
    fd.append('frame', blob, 'frame.jpg');
    var res;
    try {
      res = await fetch(base + '/frame', {
        method: 'POST', body: fd, cache: 'no-store', credentials: 'same-origin',
        headers: { Accept: 'application/json' }
      });
    } catch (e) {
      return transportTrouble();
    }
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (res.ok && data) {
      failures = 0;
      return applyFrame(data);
    }
    switch (res.status) {
      case 404:
        finish({ status: 'not_found' });
        return 0;
      case 410:
        finish({ status: 'expired', reason: 'expired' });
        return 0;
      case 409:
      case 400:
        // The session moved on (another tab, a stale nonce): resync.
        await refreshState();
        return 200;
      case 413:
        quality = Math.max(0.5, quality - 0.15);
        return 0;
      case 429:
      case 503:
        return retryAfter(res) || backoff();
      default:
        return transportTrouble();
    }
  }

  function retryAfter(res) {
    var s = parseFloat(res.headers.get('Retry-After') || '');
    return s > 0 ? Math.min(s, 10) * 1000 : 0;
  }

  function backoff() {
    failures++;
    return Math.min(5000, 250 * Math.pow(2, failures));
  }

  function transportTrouble() {
    setFeedback('', t('connection'));
    $('feedback').dataset.tone = 'warn';
    return backoff();
  }

  function merge(r) {
    state.status = r.status || state.status;
    if (r.steps) state.steps = r.steps;
    if (typeof r.current === 'number') state.current = r.current;
    if (r.redirect_url) state.redirect_url = r.redirect_url;
    if (r.reason) state.reason = r.reason;
    if (r.reason_message) state.reason_message = r.reason_message;
    if (r.nonce) state.nonce = r.nonce;
  }

  function applyFrame(r) {
    merge(r);
    if (state.status !== 'in_progress') {
      finish(state);
      return 0;
    }
    renderProgress();
    renderInstruction();
    if (r.met) {
      setFeedback('challenge_met', r.message);
      return MET_PAUSE_MS;
    }
    setFeedback(r.feedback, r.message);
    return 0;
  }

  async function refreshState() {
    var res = await fetch(base + '/state', { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (res.status === 404) { finish({ status: 'not_found' }); return false; }
    if (res.status === 410) { finish({ status: 'expired', reason: 'expired' }); return false; }
    if (!res.ok) throw new Error('state: HTTP ' + res.status);
    var s = await res.json();
    if (!state) state = s; else { merge(s); state.nonce = s.nonce; }
    if (state.status !== 'in_progress') { finish(state); return false; }
    renderProgress();
    renderInstruction();
    return true;
  }

  // ---------- start ----------

  async function init() {
    setStatus('loading');
    $('retry').addEventListener('click', startCamera);
    $('reload').addEventListener('click', function () { location.reload(); });
    var s;
    try {
      var res = await fetch(base + '/state', { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (res.status === 404) { applyTheme({}); finish({ status: 'not_found' }); return; }
      if (res.status === 410) { applyTheme({}); finish({ status: 'expired', reason: 'expired' }); return; }
      if (!res.ok) throw new Error('state: HTTP ' + res.status);
      s = await res.json();
    } catch (e) {
      applyTheme({});
      finish({ status: 'error' });
      return;
    }
    state = s;
    applyTheme(s.theme);
    show($('loading'), false);
    if (s.status !== 'in_progress') {
      finish(s);
      return;
    }
    setStatus('in_progress');
    renderProgress();
    document.addEventListener('visibilitychange', function () {
      if (!document.hidden && running && !inFlight) schedule(0);
    });
    startCamera();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
