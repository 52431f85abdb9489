'use strict';
// Shared helpers for scp.js / scu.js: argv parsing, JSON output, and a lossless
// bridge between the DICOM JSON model (PS3.18 F.2) and dcmjs' raw element dicts.

// dcmjs-dimse logs through loglevel, which writes info/debug to *stdout* via console.
// Route every console method to stderr before loading it, so stdout stays pure JSON lines.
for (const m of ['log', 'info', 'debug', 'trace', 'warn']) console[m] = console.error;

const dimse = require('dcmjs-dimse');
const { data: dcmjsData } = require('dcmjs');
const { DicomMessage, ReadBufferStream, WriteBufferStream } = dcmjsData;

const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  explicitBE: '1.2.840.10008.1.2.2',
};
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// process.exit() drops what a pipe has not taken yet (a large line is written
// asynchronously): exit once everything written so far is out.
function exitAfterOutput(code) {
  process.stdout.write('', () => process.exit(code));
}

class UsageError extends Error {}

// Minimal argv parser. spec: {flag: 'string'|'int'|'bool'|'list'}; a 'list' flag takes
// every following argument up to the next --flag and may be repeated.
function parseArgs(argv, spec) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    if (!name || !(name in spec)) throw new UsageError(`unknown argument: ${a}`);
    const type = spec[name];
    if (type === 'bool') {
      opts[name] = true;
    } else if (type === 'list') {
      const vals = [];
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) vals.push(argv[++i]);
      if (!vals.length) throw new UsageError(`--${name} needs at least one value`);
      opts[name] = (opts[name] || []).concat(vals);
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      const v = argv[++i];
      opts[name] = type === 'int' ? parseIntArg(name, v) : v;
    }
  }
  return opts;
}

function parseIntArg(name, v) {
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : /^\d+$/.test(v) ? parseInt(v, 10) : NaN;
  if (Number.isNaN(n)) throw new UsageError(`--${name}: not an integer: ${v}`);
  return n;
}

// dcmjs raw dict ({tag: {vr, Value}} as returned by DicomMessage._read) -> DICOM JSON model.
function toDicomJson(dict) {
  const res = {};
  for (const tag of Object.keys(dict).sort()) {
    const { vr, Value = [] } = dict[tag];
    const el = { vr };
    if (vr === 'SQ') {
      if (Value.length) el.Value = Value.map(toDicomJson);
    } else if (BINARY_VRS.has(vr)) {
      const bufs = Value.filter(Boolean).map((b) => Buffer.from(b));
      const buf = Buffer.concat(bufs);
      if (buf.length) el.InlineBinary = buf.toString('base64');
    } else {
      let vals = Value;
      if (vr === 'AT') vals = vals.map((t) => t.toString(16).toUpperCase().padStart(8, '0'));
      vals = vals.map((v) => (v === '' || v === undefined ? null : v));
      if (vals.length && !(vals.length === 1 && vals[0] === null)) el.Value = vals;
    }
    res[tag] = el;
  }
  return res;
}

// DICOM JSON model -> dcmjs raw dict accepted by DicomMessage.write (which sorts the tags).
function fromDicomJson(json) {
  const dict = {};
  for (const [key, el] of Object.entries(json)) {
    const tag = key.toUpperCase();
    if (!/^[0-9A-F]{8}$/.test(tag)) throw new Error(`bad tag key: ${key}`);
    const vr = el.vr;
    if (!vr) throw new Error(`element ${tag} has no vr`);
    if (el.BulkDataURI !== undefined) throw new Error(`element ${tag}: BulkDataURI not supported`);
    const vals = el.Value || [];
    let value;
    if (vr === 'SQ') {
      value = vals.map((item) => fromDicomJson(item || {}));
    } else if (BINARY_VRS.has(vr)) {
      const b = Buffer.from(el.InlineBinary || '', 'base64');
      value = [b.buffer.slice(b.byteOffset, b.byteOffset + b.length)];
    } else if (vr === 'AT') {
      value = vals.map((t) => parseInt(t, 16));
    } else if (vr === 'PN') {
      value = vals.map((v) => (v == null ? {} : typeof v === 'string' ? { Alphabetic: v } : v));
    } else {
      value = vals.map((v) => (v === null ? '' : v));
    }
    dict[tag] = { vr, Value: value };
  }
  return dict;
}

// Keep a lossless copy of every received dataset. dcmjs-dimse only stores the dataset
// naturalized (keyword-keyed), which drops the VR of private elements and cannot be
// re-encoded without a name map; so we decode the same bytes a second time with
// dcmjs' DicomMessage._read (exactly as Dataset._fromElementsBuffer does) and keep the
// result as DICOM JSON on dataset.dicomJson.
const origFromElementsBuffer = dimse.Dataset.prototype._fromElementsBuffer;
dimse.Dataset.prototype._fromElementsBuffer = function (buffer, transferSyntaxUid, readOptions) {
  const ab = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
  const syntax = [TS.implicitLE, TS.explicitBE].includes(transferSyntaxUid)
    ? transferSyntaxUid
    : TS.explicitLE;
  this.dicomJson = toDicomJson(DicomMessage._read(new ReadBufferStream(ab), syntax, readOptions));
  return origFromElementsBuffer.call(this, buffer, transferSyntaxUid, readOptions);
};

// A Dataset that is encoded straight from DICOM JSON (bypassing naturalize/denaturalize).
// Its transfer syntax must be set to the accepted one before sending, so that
// dcmjs-dimse does not try to "transcode" it (which would go through naturalized elements).
class JsonDataset extends dimse.Dataset {
  constructor(dicomJson, transferSyntaxUid) {
    super({}, transferSyntaxUid);
    this.dicomJson = dicomJson;
    this.dict = fromDicomJson(dicomJson); // validate early
  }

  getDenaturalizedDataset(writeOptions) {
    const stream = new WriteBufferStream();
    DicomMessage.write(this.dict, stream, this.transferSyntaxUid, writeOptions || {});
    return Buffer.from(stream.getBuffer());
  }

  toString() {
    return `Dataset (DICOM JSON): ${JSON.stringify(this.dicomJson)}`;
  }
}

function setupLogging(verbose) {
  dimse.log.setLevel(verbose ? 'info' : 'warn');
}

module.exports = {
  exitAfterOutput,
  dimse,
  TS,
  out,
  UsageError,
  parseArgs,
  parseIntArg,
  toDicomJson,
  fromDicomJson,
  JsonDataset,
  setupLogging,
};
