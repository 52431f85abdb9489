#!/usr/bin/env node
'use strict';
// A UPS SCP for subscriptions and events (PS3.4 Annex CC) built on dcmjs-dimse: answers
// N-ACTION Subscribe/Unsubscribe/Suspend Global on UPS Watch and pushes UPS State Reports
// to the Receiving AE on a new association. See README.md.
const { dimse, TS, out, exitAfterOutput, UsageError, parseArgs, parseIntArg, JsonDataset, setupLogging } =
  require('./lib');
const { UPS, ACTION, TAG, value, AcceptAllScp, serve, sendOnNewAssociation } = require('./ups');
const { CEchoResponse, NActionResponse } = dimse.responses;
const { NEventReportRequest } = dimse.requests;
const { Status } = dimse.constants;

const USAGE = `usage: node ups_scp.js --port N [--host 127.0.0.1] [--aet AET] [--action-status CODE]
  [--report-port N] [--report-aet AET] [--states STATE ...] [--ups-instance UID]
  [--role scp|none] [--count N] [--verbose]`;
const STATE_REPORT = 1;

let opts;
try {
  opts = parseArgs(process.argv.slice(2), {
    port: 'int', host: 'string', aet: 'string', 'action-status': 'string', 'report-port': 'int',
    'report-aet': 'string', states: 'list', 'ups-instance': 'string', role: 'string',
    count: 'int', verbose: 'bool',
  });
  if (opts.port === undefined) throw new UsageError('--port is required');
  opts['action-status'] = opts['action-status'] === undefined
    ? Status.Success : parseIntArg('action-status', opts['action-status']);
  opts.states = opts.states || ['SCHEDULED', 'IN PROGRESS', 'COMPLETED'];
  opts.role = opts.role || 'none';
  if (!['scp', 'none'].includes(opts.role)) throw new UsageError('--role must be scp or none');
} catch (e) {
  process.stderr.write(`${e.message}\n${USAGE}\n`);
  process.exit(2);
}
setupLogging(opts.verbose);
const host = opts.host || '127.0.0.1';
const upsInstance = opts['ups-instance'] || '1.2.826.0.1.3680043.9.9999.30.21.1';
let handled = 0;

// Success or Warning (PS3.7 C): the subscription stands, so the initial report is due.
function subscribed(status) {
  return status === Status.Success || (status & 0xf000) === 0xb000 || [0x0001, 0x0107, 0x0116].includes(status);
}

class UpsScp extends AcceptAllScp {
  cEchoRequest(request, callback) {
    out({ echo: { message_id: request.getMessageId() } });
    const response = CEchoResponse.fromRequest(request);
    response.setStatus(Status.Success);
    callback(response);
  }

  nActionRequest(request, callback) {
    const info = request.hasDataset() && request.getDataset() ? request.getDataset().dicomJson : null;
    const actionType = request.getActionTypeId() ?? null;
    const instance = request.getRequestedSopInstanceUid();
    const receivingAet = value(info, TAG.receivingAe);
    out({ action: {
      message_id: request.getMessageId(),
      sop_class_uid: request.getRequestedSopClassUid(),
      sop_instance_uid: instance,
      action_type_id: actionType,
      abstract_syntax: request.arrivalContext.getAbstractSyntaxUid(),
      transfer_syntax: request.arrivalContext.getAcceptedTransferSyntaxUid(),
      calling_aet: this.association.getCallingAeTitle(),
      called_aet: this.association.getCalledAeTitle(),
      receiving_aet: receivingAet,
      deletion_lock: value(info, TAG.deletionLock),
      dataset: info,
    } });
    // NActionResponse.fromRequest copies the Requested SOP Class/Instance into the Affected ones.
    const response = NActionResponse.fromRequest(request);
    const status = actionType === ACTION.subscribe ? opts['action-status'] : Status.Success;
    response.setStatus(status);
    callback(response);
    if (actionType === ACTION.subscribe && subscribed(status) && opts['report-port'] !== undefined) {
      // CC.2.3.1: after a Subscribe the SCP reports the current state; events go on a new
      // association to the Receiving AE (its address is configured: --report-port).
      const ourAet = opts.aet || this.association.getCalledAeTitle();
      const target = opts['report-aet'] || receivingAet || this.association.getCallingAeTitle();
      const reported = [UPS.global, UPS.filteredGlobal].includes(instance) ? upsInstance : instance;
      setTimeout(() => pushStates(reported, ourAet, target), 100);
    }
    countHandled(this);
  }
}

function stateReport(state) {
  return {
    [TAG.inputReadinessState]: { vr: 'CS', Value: ['READY'] },
    [TAG.procedureStepState]: { vr: 'CS', Value: [state] },
  };
}

// One N-EVENT-REPORT (UPS State Report) per --states value, in order, on one new association
// proposing UPS Event; the Affected SOP Class in each command is UPS Push (CC.3.1).
function pushStates(instance, ourAet, receivingAet) {
  const requests = opts.states.map((state) => {
    const report = new NEventReportRequest(UPS.push, instance, STATE_REPORT, UPS.event);
    report.setDataset(new JsonDataset(stateReport(state), TS.implicitLE));
    report.on('response', (response) => {
      out({ report_sent: {
        event_type_id: STATE_REPORT, sop_instance_uid: instance, state,
        status: response.getStatus(),
        affected_sop_class_uid: response.getAffectedSopClassUid() ?? null,
      } });
    });
    return report;
  });
  sendOnNewAssociation({
    host, port: opts['report-port'], callingAet: ourAet, calledAet: receivingAet,
    contexts: [{ abstractSyntax: UPS.event, scpRole: opts.role === 'scp' }],
    requests,
    on: {
      associationAccepted: (association) => out({ report_association: association }),
      error: (message) => out({ report_error: message }),
      closed: () => out({ report_association_closed: true }),
    },
  });
}

function countHandled(scp) {
  if (!opts.count || ++handled < opts.count) return;
  // Let the peer receive the response and release; exit when the connection closes.
  scp.on('close', () => exitAfterOutput(0));
  setTimeout(() => exitAfterOutput(0), 3000).unref();
}

serve(UpsScp, host, opts.port, (port) => {
  out({ listening: port });
  process.stderr.write(`ups_scp.js listening on ${host}:${port}\n`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
