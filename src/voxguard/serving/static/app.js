// voxguard web page: upload or record audio, then detect / enroll / verify through the REST API.
// No external resources: recordings are decoded in the browser and sent as 16 kHz mono WAV.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { clips: [], info: null, recorder: null, chunks: [] };
const PLOT_X = 60, PLOT_W = 340;

function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.className = "status " + (kind || "");
}

function showClips() {
  const list = $("clip-list");
  list.replaceChildren(...state.clips.map((c) => {
    const li = document.createElement("li");
    li.textContent = `${c.name} (${(c.blob.size / 1024).toFixed(1)} KiB)`;
    return li;
  }));
  if (state.clips.length) {
    $("preview").src = URL.createObjectURL(state.clips[0].blob);
    $("preview").hidden = false;
  }
}

async function api(method, path, form, write) {
  const headers = {};
  const key = $("api-key").value.trim();
  if (write && key) headers["X-API-Key"] = key;
  const resp = await fetch(path, { method, body: form, headers });
  let body = null;
  try { body = await resp.json(); } catch (e) { body = { error: resp.statusText, detail: "" }; }
  if (!resp.ok) throw new Error(`${body.error || resp.status}: ${body.detail || ""}`);
  return body;
}

function speakerId() {
  const id = $("speaker-id").value.trim();
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new Error("speaker id: use 1-64 letters, digits, '_' or '-'");
  }
  return id;
}

function needClips() {
  if (!state.clips.length) throw new Error("choose an audio file or record one first");
}

// Bars show the score each threshold applies to: an LLR (or the CM's logit difference) mapped to
// [0, 1] with a logistic, an uncalibrated ASV cosine from [-1, 1].
const logistic = (s) => 1 / (1 + Math.exp(-s));
const cmUnit = logistic;
const asvUnit = (s) => state.info && state.info.asv_threshold_on === "cosine"
  ? Math.min(1, Math.max(0, (s + 1) / 2)) : logistic(s);
const pick = (llr, raw) => (llr === null || llr === undefined ? raw : llr);

function drawBar(id, thrId, unit, thrUnit, pass) {
  const bar = $(id);
  bar.setAttribute("width", String(Math.max(2, unit * PLOT_W).toFixed(1)));
  bar.setAttribute("class", "bar " + (pass ? "pass" : "fail"));
  const x = (PLOT_X + thrUnit * PLOT_W).toFixed(1);
  $(thrId).setAttribute("x1", x);
  $(thrId).setAttribute("x2", x);
}

// One meaning for every score: the page shows what the server thresholded (cm_decision_score /
// asv_decision_score), its kind (LLR, logit difference or cosine), the threshold and the decision,
// in the words of the CLI and the Python API (bonafide / spoof / no_speech, accept / reject).
const KIND_LABEL = { llr: "LLR", "logit difference": "logit", cosine: "cosine" };

// An LLR in words: how many times more likely the audio is under one hypothesis than the other.
function llrInWords(llr, yes, no) {
  const times = Math.exp(Math.abs(llr));
  const n = times >= 100 ? times.toExponential(1) : times.toFixed(times < 10 ? 1 : 0);
  return llr >= 0 ? `${n}× more likely ${yes} than ${no}` : `${n}× more likely ${no} than ${yes}`;
}

function scoreText(kind, value, threshold, decision, yes, no) {
  const label = KIND_LABEL[kind] || kind || "score";
  let text = `${label} ${value.toFixed(3)} (threshold ${threshold.toFixed(3)}: ${decision})`;
  if (kind === "llr") text += ` — ${llrInWords(value, yes, no)}`;
  return text;
}

function clearResult() {
  for (const id of ["cm-score", "asv-score", "decision"]) $(id).textContent = "–";
  $("decision").className = "";
  for (const id of ["cm-bar", "asv-bar"]) $(id).setAttribute("width", "0");
}

function showResult(r) {
  const info = state.info || { cm_threshold: 0, asv_threshold: 0.5, asv_threshold_on: "cosine" };
  const cmDecision = r.cm_decision || r.decision;
  const cm = r.cm_decision_score ?? pick(r.cm_llr, r.cm_score);
  const cmKind = r.cm_score_kind || (r.cm_llr === null || r.cm_llr === undefined
    ? "logit difference" : "llr");
  const cmThr = r.cm_threshold ?? info.cm_threshold;
  $("cm-score").textContent = scoreText(cmKind, cm, cmThr, cmDecision, "bona fide", "spoof");
  const cmPass = cmDecision === "bonafide";
  drawBar("cm-bar", "cm-thr", cmUnit(cm), cmUnit(cmThr), cmPass);
  if (r.asv_score !== undefined) {
    const asv = r.asv_decision_score ?? pick(r.asv_llr, r.asv_score);
    const asvKind = r.asv_score_kind || (r.asv_llr === null || r.asv_llr === undefined
      ? "cosine" : "llr");
    const asvThr = r.asv_threshold ?? info.asv_threshold;
    $("asv-score").textContent = scoreText(
      asvKind, asv, asvThr, r.asv_decision, "the same speaker", "another speaker");
    drawBar("asv-bar", "asv-thr", asvUnit(asv), asvUnit(asvThr), r.asv_decision === "accept");
    $("decision").textContent = r.accepted ? `accept as ${r.speaker_id}` : "reject";
    $("decision").className = r.accepted ? "accept" : "reject";
  } else {
    $("asv-score").textContent = "–";
    $("asv-bar").setAttribute("width", "0");
    $("decision").textContent = cmDecision;
    $("decision").className = cmPass ? "accept" : "reject";
  }
}

// A failed request must not leave the previous file's result on screen, and its message names
// the file (a decoder's message may not).
function namedError(e, name) {
  return e.message.includes(name) ? e : new Error(`${name}: ${e.message}`);
}

async function run(label, fn) {
  const buttons = document.querySelectorAll("button");
  buttons.forEach((b) => { if (b.id !== "record-btn") b.disabled = true; });
  setStatus(label + "…");
  try {
    await fn();
  } catch (e) {
    clearResult();
    setStatus(e.message, "error");
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

function detect() {
  return run("detecting", async () => {
    needClips();
    const form = new FormData();
    form.append("file", state.clips[0].blob, state.clips[0].name);
    const r = await api("POST", "/detect", form, false)
      .catch((e) => { throw namedError(e, state.clips[0].name); });
    showResult(r);
    setStatus(`detected: ${r.file}`, "ok");
  });
}

function enroll() {
  return run("enrolling", async () => {
    const id = speakerId();
    needClips();
    const form = new FormData();
    form.append("speaker_id", id);
    form.append("mode", $("append-mode").checked ? "append" : "replace");
    state.clips.forEach((c) => form.append("files", c.blob, c.name));
    const r = await api("POST", "/enroll", form, true);
    setStatus(`enrolled ${r.speaker_id} from ${r.count} utterance(s)`, "ok");
    await refreshSpeakers();
  });
}

function verify() {
  return run("verifying", async () => {
    const id = speakerId();
    needClips();
    const form = new FormData();
    form.append("speaker_id", id);
    form.append("file", state.clips[0].blob, state.clips[0].name);
    const r = await api("POST", "/verify", form, false)
      .catch((e) => { throw namedError(e, state.clips[0].name); });
    showResult(r);
    setStatus(`verified ${r.file} against ${r.speaker_id}`, "ok");
  });
}

async function refreshSpeakers() {
  const r = await api("GET", "/speakers?limit=1000");
  $("speaker-rows").replaceChildren(...r.speakers.map((s) => {
    const tr = document.createElement("tr");
    for (const v of [s.speaker_id, s.count, s.model]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.append(td);
    }
    const td = document.createElement("td");
    const del = document.createElement("button");
    del.textContent = "delete";
    del.addEventListener("click", () => run("deleting", async () => {
      await api("DELETE", `/speakers/${encodeURIComponent(s.speaker_id)}`, null, true);
      setStatus(`deleted ${s.speaker_id}`, "ok");
      await refreshSpeakers();
    }));
    td.append(del);
    tr.append(td);
    return tr;
  }));
}

// ---- recording: MediaRecorder -> decode -> 16 kHz mono -> WAV (soundfile reads WAV) ----
function encodeWav(samples, rate) {
  const buf = new ArrayBuffer(44 + samples.length * 2);
  const v = new DataView(buf);
  const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  str(0, "RIFF"); v.setUint32(4, 36 + samples.length * 2, true); str(8, "WAVE");
  str(12, "fmt "); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true);
  v.setUint16(34, 16, true); str(36, "data"); v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    v.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([buf], { type: "audio/wav" });
}

async function toWav(blob) {
  const rate = (state.info && state.info.sample_rate) || 16000;
  const ctx = new AudioContext();
  const decoded = await ctx.decodeAudioData(await blob.arrayBuffer());
  ctx.close();
  const frames = Math.max(1, Math.ceil(decoded.duration * rate));
  const offline = new OfflineAudioContext(1, frames, rate);
  const src = offline.createBufferSource();
  src.buffer = decoded;
  src.connect(offline.destination);
  src.start();
  const rendered = await offline.startRendering();
  return encodeWav(rendered.getChannelData(0), rate);
}

async function toggleRecord() {
  const btn = $("record-btn");
  if (state.recorder && state.recorder.state === "recording") {
    state.recorder.stop();
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    state.chunks = [];
    state.recorder = new MediaRecorder(stream);
    state.recorder.ondataavailable = (e) => { if (e.data.size) state.chunks.push(e.data); };
    state.recorder.onstop = async () => {
      stream.getTracks().forEach((t) => t.stop());
      btn.textContent = "● Record";
      btn.classList.remove("recording");
      try {
        const wav = await toWav(new Blob(state.chunks, { type: state.recorder.mimeType }));
        state.clips = [{ name: `recording-${Date.now()}.wav`, blob: wav }];
        showClips();
        $("record-status").textContent = "recorded";
      } catch (e) {
        $("record-status").textContent = "could not decode the recording: " + e.message;
      }
    };
    state.recorder.start();
    btn.textContent = "■ Stop";
    btn.classList.add("recording");
    $("record-status").textContent = "recording…";
  } catch (e) {
    $("record-status").textContent = "microphone unavailable: " + e.message;
  }
}

async function loadInfo() {
  try {
    state.info = await api("GET", "/info");
    const i = state.info;
    $("server-info").textContent =
      `CM ${i.cm_model} (threshold ${i.cm_threshold} on ${i.cm_threshold_on}) · ` +
      `speaker ${i.spk_model} (threshold ${i.asv_threshold} on ${i.asv_threshold_on}` +
      (i.asv_operating_point ? `; operating point: ${i.asv_operating_point}` : "") + ") · " +
      `store ${i.store_backend}` +
      (i.auth_required_for_writes ? " · writes need an API key" : "");
    $("key-label").hidden = !i.auth_required_for_writes;
  } catch (e) {
    $("server-info").textContent = "server info unavailable: " + e.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("file-input").addEventListener("change", (e) => {
    state.clips = Array.from(e.target.files).map((f) => ({ name: f.name, blob: f }));
    showClips();
  });
  $("record-btn").addEventListener("click", toggleRecord);
  $("detect-btn").addEventListener("click", detect);
  $("enroll-btn").addEventListener("click", enroll);
  $("verify-btn").addEventListener("click", verify);
  $("refresh-btn").addEventListener("click", () => run("refreshing", refreshSpeakers));
  loadInfo();
  refreshSpeakers().catch((e) => setStatus(e.message, "error"));
});
