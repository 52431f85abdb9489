#!/usr/bin/env node
'use strict';
// N-EVENT-REPORT sender (association requestor) built on dcmjs-dimse. See README.md.
const fs = require('fs');
const net = require('net');
const { dimse, TS, out, exitAfterOutput, UsageError, parseArgs, JsonDataset, setupLogging } = require('./lib');
const { Client, Scp } = dimse;
const { CEchoRequest, NActionRequest, NEventReportRequest } = dimse.requests;
const { NEventReportResponse } = dimse.responses;
const { PresentationContextResult: PCResult, SopClass, Status } = dimse.constants;

const USAGE = `usage: node scu.js --host 127.0.0.1 --port N [--aet CALLING] [--called-aet CALLED]
  --class UID --instance UID --event N [--message-id N] [--data FILE.json|-]
  [--transfer-syntax UID ...] [--role scp|none] [--echo] [--context-class UID]
  [--timeout SECONDS] [--verbose]
  or, storage commitment (the modality side):
  --commit CLASS:INSTANCE ... --transaction-uid UID [--linger SECONDS] [--result-port N]`;
const STGCMT = '1.2.840.10008.1.20.1';
const STGCMT_INSTANCE = '1.2.840.10008.1.20.1.1';

let opts;
let dataJson = null;
try {
  opts = parseArgs(process.argv.slice(2), {
    host: 'string', port: 'int', aet: 'string', 'called-aet': 'string', class: 'string',
    instance: 'string', event: 'int', 'message-id': 'int', data: 'string',
    'transfer-syntax': 'list', role: 'string', echo: 'bool', 'context-class': 'string',
    timeout: 'int', verbose: 'bool',
    commit: 'list', 'transaction-uid': 'string', linger: 'int', 'result-port': 'int',
  });
  if (opts.commit) {
    // N-ACTION Request Storage Commitment (PS3.4 J.3.2): the class, instance and action are fixed.
    Object.assign(opts, { class: STGCMT, instance: STGCMT_INSTANCE, event: 1 });
    dataJson = commitRequest(opts.commit, opts['transaction-uid']);
  }
  const required = opts.echo ? ['port'] : ['port', 'class', 'instance', 'event'];
  for (const r of required) if (opts[r] === undefined) throw new UsageError(`--${r} is required`);
  opts.role = opts.role || 'none';
  if (!['scp', 'none'].includes(opts.role)) throw new UsageError('--role must be scp or none');
  const mid = opts['message-id'];
  if (mid !== undefined && (mid < 1 || mid > 65535)) throw new UsageError('--message-id: 1..65535');
  if (opts.data !== undefined) {
    dataJson = JSON.parse(fs.readFileSync(opts.data === '-' ? 0 : opts.data, 'utf8'));
    new JsonDataset(dataJson); // validate
  }
} catch (e) {
  process.stderr.write(`${e.message}\n${USAGE}\n`);
  process.exit(2);
}
setupLogging(opts.verbose);

const syntaxes = opts['transfer-syntax'] || [TS.implicitLE];
const contextClass = opts['context-class'] || opts.class;
let exitCode = 3;
let failure = null;
let printed = false;
let waitingForResult = false; // --commit: the N-ACTION succeeded, its result has not come yet

function fail(message) {
  if (!failure && !printed) failure = message;
}
function finish() {
  if (waitingForResult) {
    out({ error: failure || 'no storage commitment result for our Transaction UID' });
    exitAfterOutput(5);
    return;
  }
  if (!printed) out({ error: failure || 'association closed without a response' });
  exitAfterOutput(printed ? exitCode : 3);
}

let request;
if (opts.echo) {
  request = new CEchoRequest();
} else if (opts.commit) {
  request = new NActionRequest(opts.class, opts.instance, opts.event);
  request.setDataset(new JsonDataset(dataJson, syntaxes[0]));
} else {
  // 4th argument = "meta SOP class": the abstract syntax used to find the presentation context.
  request = new NEventReportRequest(opts.class, opts.instance, opts.event,
    contextClass !== opts.class ? contextClass : undefined);
  if (dataJson) request.setDataset(new JsonDataset(dataJson, syntaxes[0]));
}
request.on('response', (response) => {
  const reply = response.hasDataset() && response.getDataset() ? response.getDataset() : null;
  const status = response.getStatus();
  out({ response: {
    status,
    message_id_being_responded_to: response.getMessageIdBeingRespondedTo() ?? null,
    sop_class_uid: response.getAffectedSopClassUid() ?? null,
    sop_instance_uid: response.getAffectedSopInstanceUid() ?? null,
    event_type_id: (response.getEventTypeId && response.getEventTypeId()) ?? null,
    ...(opts.commit ? { action_type_id: response.getActionTypeId() ?? null } : {}),
    error_comment: response.getErrorComment() ?? null,
    event_reply: reply ? reply.dicomJson ?? null : null,
  } });
  printed = true;
  exitCode = status === Status.Success ? 0 : 4;
  if (opts.commit && status === Status.Success) waitingForResult = true;
});

const client = new Client();
client.addRequest(request);
client.on('associationRejected', ({ result, source, reason }) => {
  fail(`association rejected (result ${result}, source ${source}, reason ${reason})`);
});
client.on('networkError', (err) => fail(`network error: ${err.message}`));
// With --commit and --result-port, the end is the result on a new association, not this close.
client.on('closed', () => { if (!waitingForResult || opts['result-port'] === undefined) finish(); });
client.on('nEventReportRequest', (report, callback) => {
  // The Client hands a request that the PACS sends on this association to us (the N-ACTION's
  // association, kept open --linger seconds): the result on the same association.
  callback(answerResult(report, 'same', client.network.association));
  client.network.sendAssociationReleaseRequest();
});
client.send(opts.host || '127.0.0.1', opts.port, opts.aet || 'DCMJS_SCU',
  opts['called-aet'] || 'ANY-SCP', { associationLingerTimeout: (opts.linger || 0) * 1000 });

// Client.send() always proposes Implicit+Explicit VR LE for the request's SOP class and
// has no role-selection option, so rewrite the proposal just before the A-ASSOCIATE-RQ goes out.
const network = client.network;
network.sendAssociationRequest = function (association) {
  association.clearPresentationContexts();
  const classes = opts.echo ? [contextClass, SopClass.Verification] : [contextClass];
  for (const uid of classes.filter(Boolean)) {
    const pcId = association.addPresentationContext(uid);
    syntaxes.forEach((ts) => association.addTransferSyntaxToPresentationContext(pcId, ts));
    if (opts.role === 'scp' && uid === contextClass) {
      const pc = association.getPresentationContext(pcId);
      pc.setUserRole(false); // SCP/SCU Role Selection item: SCU-role 0, SCP-role 1
      pc.setProviderRole(true);
    }
  }
  Object.getPrototypeOf(this).sendAssociationRequest.call(this, association);
  // The A-ASSOCIATE-RQ is written; forget the proposed roles so that after the A-ASSOCIATE-AC
  // a context has roles only if the acceptor answered with a role selection item.
  for (const { context } of association.getPresentationContexts()) {
    context.setUserRole(undefined);
    context.setProviderRole(undefined);
  }
};
client.on('associationAccepted', (association) => {
  const role = (r) => (r === undefined ? null : r ? 1 : 0);
  out({ association: {
    called_aet: association.getCalledAeTitle(), calling_aet: association.getCallingAeTitle(),
    contexts: association.getPresentationContexts().map(({ id, context }) => ({
      id, abstract_syntax: context.getAbstractSyntaxUid(),
      transfer_syntax: context.getResult() === 0 ? context.getAcceptedTransferSyntaxUid() : null,
      result: context.getResult(),
      scu_role: role(context.getUserRole()), scp_role: role(context.getProviderRole()),
    })),
    max_pdu: association.getMaxPduLength(),
    implementation_class_uid: association.getImplementationClassUid() || null,
    implementation_version: association.getImplementationVersion() || null,
  } });
});
// Network assigns message IDs itself and would transcode our dataset through the
// naturalized model; set the ID and the accepted transfer syntax before it sends.
network.sendRequests = function (requests) {
  const pc = this.association.getAcceptedPresentationContextFromRequest(request);
  if (!pc) {
    fail('no presentation context accepted for ' + (opts.echo ? SopClass.Verification : contextClass));
    this.sendAssociationReleaseRequest();
    return;
  }
  if (request.getDataset()) request.getDataset().setTransferSyntaxUid(pc.getAcceptedTransferSyntaxUid());
  if (opts['message-id'] !== undefined) this.messageId = opts['message-id'] - 1;
  Object.getPrototypeOf(this).sendRequests.call(this, requests);
};
network.on('abort', ({ source, reason }) => {
  fail(`association aborted by peer (source ${source}, reason ${reason})`);
  network.socket.end();
});

setTimeout(() => {
  fail(`timeout after ${opts.timeout || 30} s`);
  finish();
}, (opts.timeout || 30) * 1000).unref();

// --- storage commitment: the modality side (PS3.4 J.3) ------------------------------------

// The Action Information: Transaction UID and the Referenced SOP Sequence of CLASS:INSTANCE pairs.
function commitRequest(pairs, transactionUid) {
  if (!transactionUid) throw new UsageError('--commit needs --transaction-uid');
  const items = pairs.map((pair) => {
    const [cls, instance] = pair.split(':');
    if (!cls || !instance) throw new UsageError(`--commit ${pair}: give CLASS_UID:INSTANCE_UID`);
    return { '00081150': { vr: 'UI', Value: [cls] }, '00081155': { vr: 'UI', Value: [instance] } };
  });
  return {
    '00081195': { vr: 'UI', Value: [transactionUid] },
    '00081199': { vr: 'SQ', Value: items },
  };
}

// Print the result (an N-EVENT-REPORT of Storage Commitment) and answer it Success; once
// one for our Transaction UID came, exit when its association has closed (at most 3 s later).
function answerResult(report, on, association) {
  const json = report.hasDataset() && report.getDataset() ? report.getDataset().dicomJson : null;
  const uid = (el) => (el && el.Value ? el.Value[0] : null);
  const items = (tag) => ((json && json[tag] && json[tag].Value) || []).map((item) => ({
    class: uid(item['00081150']), instance: uid(item['00081155']),
    ...(item['00081197'] ? { reason: item['00081197'].Value[0] } : {}),
  }));
  const transactionUid = json ? uid(json['00081195']) : null;
  out({ result: {
    on, calling_aet: association.getCallingAeTitle(), called_aet: association.getCalledAeTitle(),
    message_id: report.getMessageId(), sop_class_uid: report.getAffectedSopClassUid(),
    sop_instance_uid: report.getAffectedSopInstanceUid(), event_type_id: report.getEventTypeId(),
    transaction_uid: transactionUid, committed: items('00081199'), failed: items('00081198'),
    dataset: json,
  } });
  if (transactionUid === opts['transaction-uid']) {
    waitingForResult = false;
    setTimeout(() => exitAfterOutput(exitCode), 3000).unref();
  }
  const response = NEventReportResponse.fromRequest(report);
  response.setStatus(Status.Success);
  return response;
}

// --result-port N: where the PACS reports on a new association (a dcmjs-dimse Scp in this
// process, accepting every proposed context and role, as scp.js does).
class ResultScp extends Scp {
  associationRequested(association) {
    this.association = association;
    for (const { context } of association.getPresentationContexts()) {
      const ts = context.getTransferSyntaxUids().find((t) => [TS.explicitLE, TS.implicitLE].includes(t));
      if (ts) context.setResult(PCResult.Accept, ts);
      else context.setResult(PCResult.RejectTransferSyntaxesNotSupported);
    }
    this.sendAssociationAccept();
  }

  associationReleaseRequested() {
    this.sendAssociationReleaseResponse();
    if (!waitingForResult) setImmediate(() => exitAfterOutput(exitCode));
  }

  nEventReportRequest(report, callback) {
    callback(answerResult(report, 'new', this.association));
  }
}

if (opts['result-port'] !== undefined) {
  const server = net.createServer((socket) => {
    const scp = new ResultScp(socket, {});
    scp.connected = true;
    scp.on('networkError', (err) => fail(`result association: network error: ${err.message}`));
  });
  server.listen(opts['result-port'], '127.0.0.1');
}
