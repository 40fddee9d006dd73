// Visage hosted identity-verification page.
//
// Flow: intro + consent → selfie (a short video recorded with
// MediaRecorder while the page prompts the person, or a photo) → one
// photo per document side (camera with a frame guide, or a JPEG/PNG file)
// → one multipart POST to config.submit_url with the hidden fields →
// the server's answer: an outcome screen (and its redirect_url after a
// short notice) or an error as a sentence, with Try again.
//
// The server renders the texts (already in the page's language, themed)
// and the configuration into <script type="application/json"
// id="verify-config">; nothing is fetched from elsewhere.
//
// Test hooks: body[data-status] is the screen ("intro", "selfie",
// "selfie_countdown", "selfie_recording", "selfie_review", "document",
// "document_camera", "document_review", "submitting", "checking",
// "verified", "rejected", "review", "expired", "error"); body[data-camera]
// the camera ("starting", "on", "off", "denied", "missing", "busy",
// "unsupported", "error"); body[data-side] the document side shown.
(function () {
  'use strict';

  var COUNTDOWN_S = 3;
  var REDIRECT_DELAY_MS = 3000;
  var SUBMIT_TIMEOUT_MS = 180000;
  var VIDEO_BITS_PER_SECOND = 1200000;
  var DOC_JPEG_QUALITY = 0.92;
  var SELFIE_JPEG_QUALITY = 0.9;
  var MIN_VIDEO_BYTES = 1024;

  // What the person is asked to do while recording, by the fraction of
  // the recording elapsed.
  var PROMPTS = [
    [0, 'prompt_look', 'look'],
    [0.18, 'prompt_left', 'left'],
    [0.44, 'prompt_right', 'right'],
    [0.70, 'prompt_blink', 'blink'],
    [0.88, 'prompt_look', 'look']
  ];

  var SVGNS = 'http://www.w3.org/2000/svg';
  // Icon paths on a 24×24 grid, stroked. The face preview is a mirror, so
  // "turn to your left" points left on the screen.
  var CUES = {
    look: ['M2 12s3.6-6.5 10-6.5S22 12 22 12s-3.6 6.5-10 6.5S2 12 2 12Z', 'M12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6Z'],
    left: ['M19 12H5', 'M11 6l-6 6l6 6'],
    right: ['M5 12h14', 'M13 6l6 6l-6 6'],
    blink: ['M3 11q9 7 18 0', 'M6 13.5l-1.5 2', 'M12 15v2.5', 'M18 13.5l1.5 2'],
    ok: ['M5 12.5l4.5 4.5L19 7.5']
  };
  var BADGES = {
    verified: ['ok', 'M5 12.5l4.5 4.5L19 7.5'],
    rejected: ['bad', 'M7 7l10 10M17 7L7 17'],
    review: ['wait', 'M12 6v6l4 2.5', 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18Z'],
    expired: ['warn', 'M12 7v6', 'M12 16.5v.5']
  };

  var $ = function (id) { return document.getElementById(id); };
  var body = document.body;
  var cfg;
  try {
    cfg = JSON.parse($('verify-config').textContent);
  } catch (e) {
    cfg = null;
  }
  if (!cfg) return;
  var texts = cfg.texts || {};
  var docsCfg = cfg.documents || [];
  var wantVideo = !!cfg.video_field;
  var wantSelfie = wantVideo || !!cfg.selfie_field;

  var stream = null;
  var recorder = null;
  var recTimer = 0;
  var timers = [];
  var selfie = null;        // {blob, name, url}
  var docs = [];            // per side: {blob, name, url, source} or {skipped: true}
  var side = 0;
  var pending = null;       // the photo under review on the document screen
  var cameraBlocked = false;
  var submitting = false;
  var finished = false;

  function t(key, vars) {
    var s = texts[key];
    if (s == null) return '';
    if (vars) s = s.replace(/\{(\w+)\}/g, function (m, k) { return vars[k] != null ? String(vars[k]) : m; });
    return s;
  }

  // The attribute, not the property: SVG elements have no .hidden.
  function show(el, on) { el.toggleAttribute('hidden', !on); }
  function setStatus(s) { body.dataset.status = s; }
  function later(fn, ms) { var id = setTimeout(fn, ms); timers.push(id); return id; }
  function clearTimers() { timers.forEach(clearTimeout); timers = []; }

  function icon(el, paths) {
    el.textContent = '';
    if (!paths) return;
    var svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('focusable', 'false');
    paths.forEach(function (d) {
      var p = document.createElementNS(SVGNS, 'path');
      p.setAttribute('d', d);
      svg.appendChild(p);
    });
    el.appendChild(svg);
  }

  // ---------- theme (as on the capture page) ----------

  function validColor(v) {
    return typeof v === 'string' && v.length > 0 && v.length < 64 &&
      window.CSS && CSS.supports && CSS.supports('color', v);
  }

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

  function safeURL(u, allowData) {
    if (typeof u !== 'string' || !u) return null;
    if (allowData && /^data:image\/(png|jpeg|gif|webp|svg\+xml)[;,]/i.test(u)) return { href: u, host: '' };
    try {
      var url = new URL(u, location.href);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
    } catch (e) { return null; }
  }

  function applyTheme(theme) {
    theme = theme || {};
    var root = document.documentElement.style;
    if (validColor(theme.background)) {
      root.setProperty('--bg', theme.background);
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
      for (var w = 0.7; w <= 1.0001; w += 0.05) {
        var mix = [0, 1, 2].map(function (i) { return Math.round(fg[i] * w + bg[i] * (1 - w)); });
        if (contrast(mix, bg) >= 4.5 || w > 0.99) {
          root.setProperty('--muted', 'rgb(' + mix.join(',') + ')');
          break;
        }
      }
    }
    if (primary) {
      root.setProperty('--on-primary', contrast([255, 255, 255], primary) >= contrast([20, 24, 32], primary) ? '#ffffff' : '#141820');
      if (bg) root.setProperty('--accent', contrast(primary, bg) >= 3 ? 'var(--primary)' : 'var(--fg)');
    }

    var logo = $('logo');
    var src = safeURL(theme.logo_url, true);
    if (src) {
      logo.alt = theme.name || '';
      logo.addEventListener('error', function () {
        logo.hidden = true;
        document.querySelector('.brand').hidden = !theme.name;
      }, { once: true });
      logo.src = src.href;
      logo.hidden = false;
    }
    $('brand-name').textContent = theme.name || '';
    document.querySelector('.brand').hidden = !src && !theme.name;
    if (theme.name) document.title = t('page_title') + ' — ' + theme.name;
  }

  // ---------- screens and progress ----------

  var SCREENS = ['intro', 'selfie', 'document', 'submit', 'outcome', 'error'];

  function showScreen(name, heading) {
    SCREENS.forEach(function (s) { show($('screen-' + s), s === name); });
    var h = $(heading);
    window.scrollTo(0, 0);
    if (h) h.focus({ preventScroll: true });
  }

  function totalSteps() { return (wantSelfie ? 1 : 0) + docsCfg.length; }

  function renderProgress(index) {
    var total = totalSteps();
    var prog = $('progress');
    if (index < 0 || total < 2) { prog.hidden = true; return; }
    var list = $('steps');
    if (list.children.length !== total) {
      list.textContent = '';
      for (var i = 0; i < total; i++) {
        var li = document.createElement('li');
        li.className = 'step';
        list.appendChild(li);
      }
    }
    for (var j = 0; j < total; j++) {
      list.children[j].className = 'step' + (j < index ? ' done' : j === index ? ' active' : '');
      list.children[j].dataset.state = j < index ? 'done' : j === index ? 'active' : 'pending';
    }
    var label = t('step_of', { n: index + 1, total: total });
    $('step-count').textContent = label;
    prog.hidden = false;
  }

  // ---------- camera ----------

  function cameraKind(err) {
    var name = (err && err.name) || '';
    if (name === 'NotAllowedError' || name === 'PermissionDeniedError' || name === 'SecurityError') return 'denied';
    if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') return 'missing';
    if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') return 'busy';
    if (name === 'Unsupported') return 'unsupported';
    return 'error';
  }

  async function openCamera(video) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      var e = new Error('no getUserMedia');
      e.name = 'Unsupported';
      throw e;
    }
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: false, video: video });
    } catch (err) {
      // A camera that cannot meet the wishes still beats no camera.
      if (err && err.name === 'OverconstrainedError') {
        return navigator.mediaDevices.getUserMedia({ audio: false, video: true });
      }
      throw err;
    }
  }

  function stopCamera() {
    if (stream) {
      stream.getTracks().forEach(function (tr) { tr.stop(); });
      stream = null;
    }
    ['face-video', 'doc-video'].forEach(function (id) { $(id).srcObject = null; });
    if (body.dataset.camera === 'on' || body.dataset.camera === 'starting') body.dataset.camera = 'off';
  }

  function videoReady(v) {
    if (v.videoWidth > 0) return Promise.resolve();
    return new Promise(function (resolve) {
      var done = function () { v.removeEventListener('loadedmetadata', done); resolve(); };
      v.addEventListener('loadedmetadata', done);
      setTimeout(done, 4000);
    });
  }

  async function attach(video, constraints) {
    stopCamera();
    body.dataset.camera = 'starting';
    stream = await openCamera(constraints);
    video.srcObject = stream;
    try { await video.play(); } catch (e) { /* a muted stream autoplays; play() may still reject */ }
    await videoReady(video);
    body.dataset.camera = 'on';
  }

  // Draws the camera's frame as the camera sees it (never mirrored).
  function grab(video, quality) {
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return Promise.resolve(null);
    var c = $('canvas');
    c.width = w;
    c.height = h;
    c.getContext('2d').drawImage(video, 0, 0, w, h);
    return new Promise(function (resolve) { c.toBlob(resolve, 'image/jpeg', quality); });
  }

  // ---------- 1. intro ----------

  function start() {
    var box = $('consent');
    if (!box.checked) {
      show($('consent-error'), true);
      box.focus();
      return;
    }
    show($('consent-error'), false);
    firstStep();
  }

  function firstStep() {
    selfie = null;
    docs = [];
    if (wantSelfie) goSelfie();
    else goDocument(0);
  }

  // ---------- 2. selfie ----------

  function pickMime() {
    if (!window.MediaRecorder || typeof MediaRecorder.isTypeSupported !== 'function') return '';
    var types = ['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm', 'video/mp4;codecs=avc1', 'video/mp4'];
    for (var i = 0; i < types.length; i++) {
      if (MediaRecorder.isTypeSupported(types[i])) return types[i];
    }
    return '';
  }

  function setPrompt(key, cue) {
    var el = $('instruction');
    var text = t(key);
    if (el.textContent !== text) el.textContent = text;
    icon($('cue'), CUES[cue]);
    $('prompt-box').dataset.cue = cue || '';
  }

  function selfieButtons(which) {
    show($('record'), which === 'record');
    show($('selfie-take'), which === 'take');
    show($('selfie-use'), which === 'review');
    show($('selfie-retake'), which === 'review');
  }

  function resetFaceStage() {
    show($('face-video'), true);
    show($('face-review'), false);
    show($('face-photo'), false);
    show($('countdown'), false);
    show($('rec'), false);
    $('face-stage').dataset.tone = '';
    setRing(0);
    var rv = $('face-review');
    rv.pause();
    rv.removeAttribute('src');
    rv.load();
  }

  function goSelfie() {
    clearTimers();
    if (selfie) { URL.revokeObjectURL(selfie.url); selfie = null; }
    showScreen('selfie', 'selfie-title');
    renderProgress(0);
    setStatus('selfie');
    resetFaceStage();
    selfieButtons('');
    show($('camera-error'), false);
    show($('prompt-box'), true);
    startFaceCamera();
  }

  function faceCameraFailed(kind, text) {
    stopCamera();
    body.dataset.camera = kind;
    // An empty black stage says nothing: the message takes its place.
    show($('face-stage'), false);
    show($('camera-wait'), false);
    show($('prompt-box'), false);
    selfieButtons('');
    $('camera-error-text').textContent = text || t('camera_' + kind);
    show($('camera-retry'), kind !== 'unsupported');
    show($('camera-error'), true);
    if (kind !== 'unsupported') $('camera-retry').focus({ preventScroll: true });
  }

  async function startFaceCamera() {
    if (wantVideo && !pickMime()) {
      faceCameraFailed('unsupported', t('video_unsupported'));
      return;
    }
    show($('camera-error'), false);
    show($('face-stage'), true);
    show($('prompt-box'), true);
    show($('camera-wait'), true);
    setPrompt('prompt_look', 'look');
    try {
      await attach($('face-video'), { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } });
    } catch (err) {
      faceCameraFailed(cameraKind(err));
      return;
    }
    show($('camera-wait'), false);
    var track = stream && stream.getVideoTracks()[0];
    if (track) track.addEventListener('ended', function () {
      if (recorder || body.dataset.status === 'selfie') faceCameraFailed('busy');
    });
    setPrompt('prompt_look', 'look');
    selfieButtons(wantVideo ? 'record' : 'take');
    (wantVideo ? $('record') : $('selfie-take')).focus({ preventScroll: true });
  }

  function setRing(fraction) {
    $('ring-progress').style.setProperty('stroke-dashoffset', String(100 - 100 * Math.max(0, Math.min(1, fraction))));
  }

  function countdown() {
    selfieButtons('');
    setStatus('selfie_countdown');
    setPrompt('video_get_ready', '');
    var cd = $('countdown');
    var n = COUNTDOWN_S;
    var step = function () {
      if (n === 0) {
        show(cd, false);
        record();
        return;
      }
      cd.textContent = String(n);
      show(cd, true);
      n--;
      later(step, 1000);
    };
    step();
  }

  function record() {
    var mime = pickMime();
    var chunks = [];
    try {
      recorder = new MediaRecorder(stream, { mimeType: mime, videoBitsPerSecond: VIDEO_BITS_PER_SECOND });
    } catch (e) {
      recorder = null;
      faceCameraFailed('error', t('video_failed'));
      return;
    }
    recorder.addEventListener('dataavailable', function (e) { if (e.data && e.data.size) chunks.push(e.data); });
    recorder.addEventListener('error', function () {
      stopRecording();
      recorder = null;
      faceCameraFailed('error', t('video_failed'));
    });
    recorder.addEventListener('stop', function () {
      var type = (recorder && recorder.mimeType) || mime;
      recorder = null;
      recorded(new Blob(chunks, { type: type.split(';')[0] }));
    });
    var seconds = cfg.video_seconds || 5;
    var started = 0;
    var tick = function () {
      var elapsed = (performance.now() - started) / 1000;
      var f = elapsed / seconds;
      setRing(f);
      $('rec-left').textContent = t('video_left', { n: Math.max(0, Math.ceil(seconds - elapsed)) });
      if (f >= 1) {
        stopRecording();
        return;
      }
      var p = PROMPTS[0];
      for (var i = 0; i < PROMPTS.length; i++) if (f >= PROMPTS[i][0]) p = PROMPTS[i];
      setPrompt(p[1], p[2]);
    };
    // The clock starts when the recorder does, which on a busy phone is
    // later than start() returns.
    recorder.addEventListener('start', function () {
      started = performance.now();
      tick();
      recTimer = setInterval(tick, 100);
    });
    recorder.start(500);
    later(stopRecording, (seconds + 5) * 1000); // should "start" never come
    setStatus('selfie_recording');
    $('face-stage').dataset.tone = 'rec';
    show($('rec'), true);
    $('rec-left').textContent = t('video_left', { n: seconds });
    setPrompt(PROMPTS[0][1], PROMPTS[0][2]);
  }

  function stopRecording() {
    clearInterval(recTimer);
    recTimer = 0;
    if (recorder && recorder.state !== 'inactive') {
      try { recorder.stop(); } catch (e) { /* already stopping */ }
    }
  }

  function recorded(blob) {
    stopCamera();
    show($('rec'), false);
    $('face-stage').dataset.tone = '';
    if (blob.size < MIN_VIDEO_BYTES) {
      faceCameraFailed('error', t('video_failed'));
      return;
    }
    if (cfg.max_video_bytes && blob.size > cfg.max_video_bytes) {
      faceCameraFailed('error', t('video_too_large'));
      return;
    }
    var ext = /mp4/.test(blob.type) ? 'mp4' : 'webm';
    selfie = { blob: blob, name: 'selfie.' + ext, url: URL.createObjectURL(blob) };
    var rv = $('face-review');
    rv.src = selfie.url;
    show($('face-video'), false);
    show(rv, true);
    rv.play().catch(function () { /* the controls let the person play it */ });
    setRing(0);
    review('video_review_text');
  }

  function review(textKey) {
    setStatus('selfie_review');
    $('instruction').textContent = t(textKey);
    icon($('cue'), CUES.ok);
    $('prompt-box').dataset.cue = 'ok';
    selfieButtons('review');
    $('selfie-use').focus({ preventScroll: true });
  }

  async function takeSelfie() {
    var blob = await grab($('face-video'), SELFIE_JPEG_QUALITY);
    if (!blob) return;
    stopCamera();
    selfie = { blob: blob, name: 'selfie.jpg', url: URL.createObjectURL(blob) };
    var img = $('face-photo');
    img.src = selfie.url;
    show($('face-video'), false);
    show(img, true);
    review('selfie_review_text');
  }

  function useSelfie() {
    if (!selfie) return;
    stopCamera();
    goDocument(0);
  }

  // ---------- 3. documents ----------

  function stepIndex(i) { return (wantSelfie ? 1 : 0) + i; }

  function goDocument(i) {
    clearTimers();
    if (i >= docsCfg.length) { submit(); return; }
    side = i;
    pending = null;
    var d = docsCfg[i];
    body.dataset.side = String(i);
    $('doc-title').textContent = d.label;
    showScreen('document', 'doc-title');
    renderProgress(stepIndex(i));
    $('file-hint').textContent = t('file_hint', { limit: formatBytes(cfg.max_photo_bytes) });
    show($('doc-skip'), !!d.optional);
    docMode('choose');
  }

  // docMode shows one of: "choose" (camera or file), "camera", "review".
  function docMode(mode) {
    show($('doc-stage'), mode !== 'choose');
    show($('doc-illustration'), mode === 'choose');
    show($('doc-choose'), mode === 'choose');
    show($('doc-shoot'), mode === 'camera');
    show($('doc-confirm'), mode === 'review');
    show($('doc-video'), mode === 'camera');
    show($('doc-frame'), mode === 'camera');
    show($('doc-frame-hint'), mode === 'camera');
    show($('doc-preview'), mode === 'review');
    show($('doc-intro'), mode !== 'review');
    show($('doc-skip'), mode === 'choose' && !!docsCfg[side].optional);
    var canCamera = !cameraBlocked && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
    show($('doc-camera'), canCamera);
    $('doc-upload').classList.toggle('secondary', canCamera);
    if (mode === 'choose') setStatus('document');
    if (mode === 'camera') setStatus('document_camera');
    if (mode === 'review') setStatus('document_review');
  }

  function docError(text) {
    var el = $('doc-error');
    el.textContent = text || '';
    show(el, !!text);
  }

  async function docCamera() {
    docError('');
    show($('doc-notice'), false);
    docMode('camera');
    show($('doc-camera-wait'), true);
    $('doc-capture').disabled = true;
    try {
      await attach($('doc-video'), { facingMode: { ideal: 'environment' }, width: { ideal: 1920 }, height: { ideal: 1080 } });
    } catch (err) {
      var kind = cameraKind(err);
      stopCamera();
      body.dataset.camera = kind;
      show($('doc-camera-wait'), false);
      if (kind === 'denied' || kind === 'missing' || kind === 'unsupported') cameraBlocked = true;
      var note = $('doc-notice');
      note.textContent = t('camera_document_fallback');
      show(note, true);
      docMode('choose');
      $('doc-upload').focus({ preventScroll: true });
      return;
    }
    show($('doc-camera-wait'), false);
    $('doc-capture').disabled = false;
    $('doc-capture').focus({ preventScroll: true });
  }

  async function docCapture() {
    var video = $('doc-video');
    var blob = await grab(video, DOC_JPEG_QUALITY);
    // A high-resolution camera may exceed the limit the server set:
    // trade JPEG quality for size rather than refuse the photo.
    for (var q = DOC_JPEG_QUALITY - 0.12; blob && cfg.max_photo_bytes && blob.size > cfg.max_photo_bytes && q > 0.4; q -= 0.12) {
      blob = await grab(video, q);
    }
    if (!blob) return;
    if (cfg.max_photo_bytes && blob.size > cfg.max_photo_bytes) {
      stopCamera();
      docMode('choose');
      docError(t('file_too_large', { size: formatBytes(blob.size, cfg.max_photo_bytes), limit: formatBytes(cfg.max_photo_bytes) }));
      return;
    }
    stopCamera();
    reviewDoc({ blob: blob, name: docsCfg[side].field + '.jpg', source: 'camera' });
  }

  function reviewDoc(photo) {
    if (pending && pending.url) URL.revokeObjectURL(pending.url);
    pending = photo;
    if (!photo.url) photo.url = URL.createObjectURL(photo.blob);
    $('doc-preview').src = photo.url;
    $('doc-retake').textContent = photo.source === 'camera' ? t('photo_retake') : t('doc_choose_again');
    docMode('review');
    $('doc-use').focus({ preventScroll: true });
  }

  function sniff(b) {
    if (b.length >= 3 && b[0] === 0xFF && b[1] === 0xD8 && b[2] === 0xFF) return 'image/jpeg';
    var png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    if (b.length >= 8 && png.every(function (v, i) { return b[i] === v; })) return 'image/png';
    return '';
  }

  function decodes(url) {
    return new Promise(function (resolve) {
      var img = new Image();
      img.onload = function () { resolve(img.naturalWidth > 0 && img.naturalHeight > 0); };
      img.onerror = function () { resolve(false); };
      img.src = url;
    });
  }

  // Sizes as the person reads them, in their language; one more digit
  // when rounding would make a too-large file look like the limit.
  function formatBytes(n, other) {
    var fmt = function (v, digits) { return new Intl.NumberFormat(cfg.locale || 'en', { maximumFractionDigits: digits }).format(v); };
    if (n >= 1024 * 1024) {
      var a = fmt(n / 1048576, 1);
      if (other && a === fmt(other / 1048576, 1)) a = fmt(n / 1048576, 2);
      return t('unit_mb', { n: a });
    }
    return t('unit_kb', { n: fmt(Math.max(1, Math.round(n / 1024)), 0) });
  }

  // checkFile answers the reason a file is refused ('' when it is fine)
  // and its type, from its bytes, not its name.
  async function checkFile(file) {
    if (!file.size) return { error: t('file_empty') };
    var limit = cfg.max_photo_bytes;
    if (limit && file.size > limit) {
      return { error: t('file_too_large', { size: formatBytes(file.size, limit), limit: formatBytes(limit) }) };
    }
    var head;
    try {
      head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
    } catch (e) {
      return { error: t('file_unreadable') };
    }
    var type = sniff(head);
    if (!type) return { error: t('file_type') };
    var url = URL.createObjectURL(file);
    if (!(await decodes(url))) {
      URL.revokeObjectURL(url);
      return { error: t('file_unreadable') };
    }
    return { type: type, url: url };
  }

  async function fileChosen() {
    var input = $('file-input');
    var file = input.files && input.files[0];
    input.value = '';
    if (!file) return;
    docError('');
    var res = await checkFile(file);
    if (res.error) {
      docMode('choose');
      docError(res.error);
      $('doc-upload').focus({ preventScroll: true });
      return;
    }
    var ext = res.type === 'image/png' ? 'png' : 'jpg';
    reviewDoc({ blob: file, name: docsCfg[side].field + '.' + ext, url: res.url, source: 'file' });
  }

  function chooseFile() {
    docError('');
    $('file-input').click();
  }

  function useDoc() {
    if (!pending) return;
    docs[side] = pending;
    pending = null;
    goDocument(side + 1);
  }

  function retakeDoc() {
    var source = pending && pending.source;
    if (source === 'camera' && !cameraBlocked) docCamera();
    else { docMode('choose'); chooseFile(); }
  }

  function skipDoc() {
    docs[side] = { skipped: true };
    goDocument(side + 1);
  }

  // ---------- 4. submit ----------

  function formData() {
    var fd = new FormData();
    var fields = cfg.fields || {};
    Object.keys(fields).forEach(function (k) { fd.append(k, fields[k]); });
    if (selfie) fd.append(wantVideo ? cfg.video_field : cfg.selfie_field, selfie.blob, selfie.name);
    docsCfg.forEach(function (d, i) {
      var p = docs[i];
      if (p && p.blob) fd.append(d.field, p.blob, p.name);
    });
    return fd;
  }

  function submit() {
    if (submitting || finished) return;
    submitting = true;
    stopCamera();
    delete body.dataset.side;
    renderProgress(-1);
    showScreen('submit', 'submit-title');
    setStatus('submitting');
    $('submit-title').textContent = t('sending');
    var bar = $('upload-progress');
    bar.value = 0;
    var status = $('upload-status');
    status.textContent = t('sending_progress', { percent: 0 });
    var lastTenth = 0;

    var xhr = new XMLHttpRequest();
    xhr.open('POST', cfg.submit_url);
    xhr.timeout = SUBMIT_TIMEOUT_MS;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', function (e) {
      if (!e.lengthComputable || !e.total) return;
      var pct = Math.min(100, Math.round(100 * e.loaded / e.total));
      bar.value = pct;
      // The live region hears every 10 %, not every packet.
      if (Math.floor(pct / 10) !== lastTenth) {
        lastTenth = Math.floor(pct / 10);
        status.textContent = t('sending_progress', { percent: pct });
      }
    });
    xhr.upload.addEventListener('load', function () {
      bar.value = 100;
      bar.removeAttribute('value'); // indeterminate while the server checks
      setStatus('checking');
      $('submit-title').textContent = t('checking');
      status.textContent = t('checking_text');
    });
    xhr.addEventListener('load', function () {
      submitting = false;
      answer(xhr.status, xhr.responseText);
    });
    xhr.addEventListener('error', function () { submitting = false; failed('network', 0, null); });
    xhr.addEventListener('timeout', function () { submitting = false; failed('timeout', 0, null); });
    xhr.send(formData());
  }

  function parse(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  function isObject(v) { return !!v && typeof v === 'object' && !Array.isArray(v); }

  function answer(status, text) {
    var data = parse(text);
    var ok = status >= 200 && status < 300 && isObject(data) && data.success !== false;
    if (ok && data.error && !data.result && !data.status) ok = false;
    if (!ok) {
      failed('http', status, data);
      return;
    }
    var target = safeURL(data.redirect_url || (isObject(data.result) && data.result.redirect_url));
    finish(outcomeOf(statusOf(data)), target);
  }

  // statusOf finds the verification status in either vendor's answer:
  // {result: {verificationAssessment: {verificationStatus}, status}} or
  // {status, redirect_url}.
  function statusOf(data) {
    var r = isObject(data.result) ? data.result : {};
    var va = isObject(r.verificationAssessment) ? r.verificationAssessment : {};
    var found = [va.verificationStatus, r.status, data.status, data.verification_status].filter(function (v) {
      return typeof v === 'string' && v.trim();
    });
    return found.length ? found[0] : '';
  }

  function outcomeOf(raw) {
    var s = String(raw).toLowerCase().replace(/[\s_-]+/g, ' ').trim();
    if (/^(verified|approved|accepted|passed)$/.test(s)) return 'verified';
    if (/^(rejected|declined|denied|failed|refused)$/.test(s)) return 'rejected';
    if (/^(expired|abandoned)$/.test(s)) return 'expired';
    return 'review';
  }

  var REASON_PHRASES = /^(bad request|unauthorized|forbidden|not found|method not allowed|not acceptable|conflict|gone|payload too large|request entity too large|unsupported media type|unprocessable entity|unprocessable content|too many requests|internal server error|not implemented|bad gateway|service unavailable|gateway timeout|error|unknown error)$/i;

  // sentence turns a server's message into something to show a person, or
  // '' when it is a code ("invalid_api_key", "BAD_REQUEST", "Not Found").
  function sentence(v) {
    if (Array.isArray(v)) v = v.filter(function (x) { return typeof x === 'string'; })[0];
    if (typeof v !== 'string') return '';
    v = v.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
    if (!v || v.length > 300 || !/\s/.test(v) || REASON_PHRASES.test(v)) return '';
    if (/^[A-Z0-9_.:-]+( [A-Z0-9_.:-]+)*$/.test(v)) return '';
    if (!/\p{L}/u.test(v)) return '';
    v = v.charAt(0).toUpperCase() + v.slice(1);
    if (!/[.!?…。]$/.test(v)) v += '.';
    return v;
  }

  function errorSentence(data) {
    if (!isObject(data)) return '';
    var e = data.error;
    var cands = [];
    if (isObject(e)) cands.push(e.message, e.detail);
    cands.push(data.message);
    if (typeof e === 'string') cands.push(e);
    cands.push(data.detail, data.title);
    for (var i = 0; i < cands.length; i++) {
      var s = sentence(cands[i]);
      if (s) return s;
    }
    return '';
  }

  function failed(kind, status, data) {
    var linkBad = status === 401 || status === 403 || status === 404;
    var expired = status === 410;
    var title = t('error_title');
    var text = errorSentence(data);
    if (!text) {
      if (kind === 'network') text = t('error_network');
      else if (kind === 'timeout') text = t('error_timeout');
      else if (linkBad) text = t('error_link_text');
      else if (expired) text = t('expired_text');
      else if (status === 413) text = t('error_too_large');
      else if (status === 429 || status === 503) text = t('error_busy');
      else if (status >= 500) text = t('error_server');
      else text = t('error_refused');
    }
    if (linkBad) title = t('error_link_title');
    if (expired) title = t('expired_title');
    $('error-title').textContent = title;
    $('error-text').textContent = text;
    var final = linkBad || expired;
    show($('error-retry'), !final && status !== 413);
    show($('error-restart'), !final);
    body.dataset.error = kind === 'http' ? String(status) : kind;
    showScreen('error', 'error-title');
    setStatus('error');
  }

  function restart() {
    docs.forEach(function (p) { if (p && p.url) URL.revokeObjectURL(p.url); });
    if (selfie) URL.revokeObjectURL(selfie.url);
    delete body.dataset.error;
    firstStep();
  }

  // ---------- 5. outcome ----------

  function finish(kind, target) {
    finished = true;
    stopCamera();
    clearTimers();
    var badge = $('outcome-badge');
    var b = BADGES[kind];
    badge.className = 'badge badge-' + b[0];
    icon(badge, b.slice(1));
    $('outcome-title').textContent = t(kind + '_title');
    $('outcome-text').textContent = t(kind + '_text');
    var note = $('redirect-note');
    var link = $('redirect-link');
    if (target) {
      note.textContent = t('redirect', { host: target.host });
      link.href = target.href;
      show(link, true);
      later(function () { location.assign(target.href); }, REDIRECT_DELAY_MS);
    } else {
      note.textContent = t('close');
      show(link, false);
    }
    show(note, true);
    showScreen('outcome', 'outcome-title');
    setStatus(kind);
  }

  // ---------- start ----------

  function init() {
    applyTheme(cfg.theme);
    $('start').addEventListener('click', start);
    $('consent').addEventListener('change', function () { if (this.checked) show($('consent-error'), false); });
    $('camera-retry').addEventListener('click', startFaceCamera);
    $('record').addEventListener('click', countdown);
    $('selfie-take').addEventListener('click', takeSelfie);
    $('selfie-use').addEventListener('click', useSelfie);
    $('selfie-retake').addEventListener('click', goSelfie);
    $('doc-camera').addEventListener('click', docCamera);
    $('doc-upload').addEventListener('click', chooseFile);
    $('file-input').addEventListener('change', fileChosen);
    $('doc-capture').addEventListener('click', docCapture);
    $('doc-cancel').addEventListener('click', function () { stopCamera(); docMode('choose'); });
    $('doc-use').addEventListener('click', useDoc);
    $('doc-retake').addEventListener('click', retakeDoc);
    $('doc-skip').addEventListener('click', skipDoc);
    $('error-retry').addEventListener('click', submit);
    $('error-restart').addEventListener('click', restart);
    window.addEventListener('pagehide', function () { stopRecording(); stopCamera(); });
    setStatus('intro');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
