#!/usr/bin/env node
'use strict';
// A UPS event subscriber (PS3.4 Annex CC) built on dcmjs-dimse: listens for N-EVENT-REPORTs
// as the Receiving AE, subscribes with N-ACTION on UPS Watch, prints each event, answers it
// Success and unsubscribes after --count events. See README.md.
const { dimse, out, exitAfterOutput, UsageError, parseArgs, JsonDataset, setupLogging, TS } =
  require('./lib');
const { UPS, ACTION, TAG, value, AcceptAllScp, serve, sendOnNewAssociation } = require('./ups');
const { CEchoResponse, NEventReportResponse } = dimse.responses;
const { NActionRequest } = dimse.requests;
const { Status } = dimse.constants;

const USAGE = `usage: node ups_subscriber.js --host 127.0.0.1 --port N [--aet AET] [--called-aet AET]
  [--listen-port N] [--instance UID] [--receiving-aet AET] [--deletion-lock]
  [--count N] [--timeout SECONDS] [--verbose]`;

let opts;
try {
  opts = parseArgs(process.argv.slice(2), {
    host: 'string', port: 'int', aet: 'string', 'called-aet': 'string', 'listen-port': 'int',
    instance: 'string', 'receiving-aet': 'string', 'deletion-lock': 'bool', count: 'int',
    timeout: 'int', verbose: 'bool',
  });
  if (opts.port === undefined) throw new UsageError('--port is required');
} catch (e) {
  process.stderr.write(`${e.message}\n${USAGE}\n`);
  process.exit(2);
}
setupLogging(opts.verbose);
const host = opts.host || '127.0.0.1';
const aet = opts.aet || 'DCMJS_WATCHER';
const receivingAet = opts['receiving-aet'] || aet;
const calledAet = opts['called-aet'] || 'ANY-SCP';
const instance = opts.instance || UPS.global;
const wanted = opts.count || 1;
let events = 0;
let unsubscribing = false;

function isSuccessOrWarning(status) {
  return status === Status.Success || (status & 0xf000) === 0xb000 || [0x0001, 0x0107, 0x0116].includes(status);
}

// The Subscribe (3) / Unsubscribe (4) N-ACTION: Requested SOP Class UPS Push (CC.3.1), the
// context UPS Watch (dcmjs-dimse picks the context by the "meta SOP class", 4th argument).
function action(actionType, then) {
  const request = new NActionRequest(UPS.push, instance, actionType, UPS.watch);
  const info = { [TAG.receivingAe]: { vr: 'AE', Value: [receivingAet] } };
  if (actionType === ACTION.subscribe) {
    info[TAG.deletionLock] = { vr: 'LO', Value: [opts['deletion-lock'] ? 'TRUE' : 'FALSE'] };
  }
  request.setDataset(new JsonDataset(info, TS.implicitLE));
  const kind = actionType === ACTION.subscribe ? 'subscribe' : 'unsubscribe';
  let status = null;
  request.on('response', (response) => {
    status = response.getStatus();
    out({ [`${kind}_response`]: {
      status,
      message_id_being_responded_to: response.getMessageIdBeingRespondedTo() ?? null,
      sop_class_uid: response.getAffectedSopClassUid() ?? null,
      sop_instance_uid: response.getAffectedSopInstanceUid() ?? null,
      action_type_id: response.getActionTypeId() ?? null,
      error_comment: response.getErrorComment() ?? null,
    } });
  });
  let failed = null;
  sendOnNewAssociation({
    host, port: opts.port, callingAet: aet, calledAet,
    contexts: [{ abstractSyntax: UPS.watch }],
    requests: [request],
    on: {
      associationAccepted: (association) => out({ [`${kind}_association`]: association }),
      error: (message) => { failed = failed || message; },
      closed: () => then(status, failed),
    },
  });
}

class EventScp extends AcceptAllScp {
  cEchoRequest(request, callback) {
    const response = CEchoResponse.fromRequest(request);
    response.setStatus(Status.Success);
    callback(response);
  }

  nEventReportRequest(report, callback) {
    const json = report.hasDataset() && report.getDataset() ? report.getDataset().dicomJson : null;
    out({ event: {
      calling_aet: this.association.getCallingAeTitle(),
      called_aet: this.association.getCalledAeTitle(),
      abstract_syntax: report.arrivalContext.getAbstractSyntaxUid(),
      transfer_syntax: report.arrivalContext.getAcceptedTransferSyntaxUid(),
      message_id: report.getMessageId(),
      sop_class_uid: report.getAffectedSopClassUid(),
      sop_instance_uid: report.getAffectedSopInstanceUid(),
      event_type_id: report.getEventTypeId() ?? null,
      procedure_step_state: value(json, TAG.procedureStepState),
      dataset: json,
    } });
    const response = NEventReportResponse.fromRequest(report);
    response.setStatus(Status.Success);
    callback(response);
    if (++events === wanted && !unsubscribing) {
      unsubscribing = true;
      setImmediate(() => action(ACTION.unsubscribe, (status, failed) => {
        if (failed || status === null) out({ error: `unsubscribe: ${failed || 'no response'}` });
        exitAfterOutput(status === Status.Success ? 0 : status === null ? 3 : 4);
      }));
    }
  }
}

serve(EventScp, host, opts['listen-port'] || 0, (port) => {
  out({ listening: port });
  action(ACTION.subscribe, (status, failed) => {
    if (status === null) {
      out({ error: `subscribe: ${failed || 'association closed without a response'}` });
      exitAfterOutput(3);
    } else if (!isSuccessOrWarning(status)) {
      exitAfterOutput(4);
    }
  });
});
setTimeout(() => {
  out({ error: `timeout after ${opts.timeout || 30} s: ${events} of ${wanted} events` });
  exitAfterOutput(5);
}, (opts.timeout || 30) * 1000).unref();
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
