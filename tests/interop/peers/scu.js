#!/usr/bin/env node
'use strict';
// N-EVENT-REPORT sender (association requestor) built on dcmjs-dimse. See README.md.
const fs = require('fs');
const { dimse, TS, out, exitAfterOutput, UsageError, parseArgs, JsonDataset, setupLogging } = require('./lib');
const { Client } = dimse;
const { CEchoRequest, NEventReportRequest } = dimse.requests;
const { SopClass, Status } = dimse.constants;

const USAGE = `usage: node scu.js --host 127.0.0.1 --port N [--aet CALLING] [--called-aet CALLED]
  --class UID --instance UID --event N [--message-id N] [--data FILE.json|-]
  [--transfer-syntax UID ...] [--role scp|none] [--echo] [--context-class UID]
  [--timeout SECONDS] [--verbose]`;

let opts;
let dataJson = null;
try {
  opts = parseArgs(process.argv.slice(2), {
    host: 'string', port: 'int', aet: 'string', 'called-aet': 'string', class: 'string',
    instance: 'string', event: 'int', 'message-id': 'int', data: 'string',
    'transfer-syntax': 'list', role: 'string', echo: 'bool', 'context-class': 'string',
    timeout: 'int', verbose: 'bool',
  });
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

function fail(message) {
  if (!failure && !printed) failure = message;
}
function finish() {
  if (!printed) out({ error: failure || 'association closed without a response' });
  exitAfterOutput(printed ? exitCode : 3);
}

let request;
if (opts.echo) {
  request = new CEchoRequest();
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
    error_comment: response.getErrorComment() ?? null,
    event_reply: reply ? reply.dicomJson ?? null : null,
  } });
  printed = true;
  exitCode = status === Status.Success ? 0 : 4;
});

const client = new Client();
client.addRequest(request);
client.on('associationRejected', ({ result, source, reason }) => {
  fail(`association rejected (result ${result}, source ${source}, reason ${reason})`);
});
client.on('networkError', (err) => fail(`network error: ${err.message}`));
client.on('closed', finish);
client.send(opts.host || '127.0.0.1', opts.port, opts.aet || 'DCMJS_SCU',
  opts['called-aet'] || 'ANY-SCP');

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
