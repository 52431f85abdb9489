#!/usr/bin/env node
'use strict';
// N-EVENT-REPORT receiver (association acceptor) built on dcmjs-dimse. See README.md.
const fs = require('fs');
const net = require('net');
const { dimse, TS, out, exitAfterOutput, UsageError, parseArgs, parseIntArg, JsonDataset, setupLogging } =
  require('./lib');
const { Scp, Client } = dimse;
const { CEchoResponse, NActionResponse, NEventReportResponse } = dimse.responses;
const { NEventReportRequest } = dimse.requests;
const { PresentationContextResult: PCResult, RejectResult, RejectSource, RejectReason, Status } =
  dimse.constants;

const USAGE = `usage: node scp.js --port N [--host 127.0.0.1] [--aet AET] [--status CODE]
  [--error-comment TEXT] [--reply none|echo|FILE.json] [--abort] [--reject]
  [--require-called-aet] [--count N] [--transfer-syntax UID ...] [--verbose]
  [--action-status CODE] [--report-port N] [--report-aet AET] [--fail N]`;

let opts;
try {
  opts = parseArgs(process.argv.slice(2), {
    port: 'int', host: 'string', aet: 'string', status: 'string', 'error-comment': 'string',
    reply: 'string', abort: 'bool', reject: 'bool', 'require-called-aet': 'bool', count: 'int',
    'transfer-syntax': 'list', verbose: 'bool',
    'action-status': 'string', 'report-port': 'int', 'report-aet': 'string', fail: 'int',
  });
  opts['action-status'] = opts['action-status'] === undefined
    ? Status.Success : parseIntArg('action-status', opts['action-status']);
  if (opts.port === undefined) throw new UsageError('--port is required');
  opts.status = opts.status === undefined ? Status.Success : parseIntArg('status', opts.status);
  opts.reply = opts.reply || 'none';
  if (!['none', 'echo'].includes(opts.reply)) {
    opts.replyJson = JSON.parse(fs.readFileSync(opts.reply, 'utf8'));
    new JsonDataset(opts.replyJson); // validate now rather than mid-association
  }
} catch (e) {
  process.stderr.write(`${e.message}\n${USAGE}\n`);
  process.exit(2);
}
setupLogging(opts.verbose);
const host = opts.host || '127.0.0.1';
const acceptedSyntaxes = opts['transfer-syntax'] || [TS.implicitLE, TS.explicitLE, TS.explicitBE];
let handled = 0;

class PeerScp extends Scp {
  associationRequested(association) {
    this.association = association;
    if (opts.reject) {
      out({ rejected: { calling_aet: association.getCallingAeTitle(), result: 1, source: 1, reason: 3 } });
      this.sendAssociationReject(
        RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
      return;
    }
    if (opts['require-called-aet'] && association.getCalledAeTitle() !== (opts.aet || 'ANY-SCP')) {
      out({ rejected: { called_aet: association.getCalledAeTitle(), result: 1, source: 1, reason: 7 } });
      this.sendAssociationReject(
        RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
      return;
    }
    const contexts = association.getPresentationContexts().map(({ id, context }) => {
      const ts = context.getTransferSyntaxUids().find((t) => acceptedSyntaxes.includes(t));
      if (ts) context.setResult(PCResult.Accept, ts);
      else context.setResult(PCResult.RejectTransferSyntaxesNotSupported);
      // Role selection items read from the A-ASSOCIATE-RQ are stored on the context and
      // written back unchanged in the A-ASSOCIATE-AC, i.e. the proposed roles are accepted.
      const role = (r) => (r === undefined ? null : r ? 1 : 0);
      return {
        id, abstract_syntax: context.getAbstractSyntaxUid(), transfer_syntax: ts || null,
        result: context.getResult(),
        scu_role: role(context.getUserRole()), scp_role: role(context.getProviderRole()),
      };
    });
    // Read these before sendAssociationAccept(), which overwrites them with our own values.
    out({ association: {
      calling_aet: association.getCallingAeTitle(), called_aet: association.getCalledAeTitle(),
      contexts, max_pdu: association.getMaxPduLength(),
      implementation_class_uid: association.getImplementationClassUid() || null,
      implementation_version: association.getImplementationVersion() || null,
    } });
    this.sendAssociationAccept();
  }

  associationReleaseRequested() {
    this.sendAssociationReleaseResponse();
  }

  abort(source, reason) {
    out({ aborted: { source, reason } });
    this.socket.end();
  }

  cEchoRequest(request, callback) {
    out({ echo: { message_id: request.getMessageId() } });
    const response = CEchoResponse.fromRequest(request);
    response.setStatus(Status.Success);
    callback(response);
  }

  // Remember the presentation context a message arrived on (the library only passes it to
  // its own response callback; looking it up by SOP class fails when the context's abstract
  // syntax differs from the Affected SOP Class UID).
  _performDimse(presentationContext, dimse) {
    dimse.arrivalContext = presentationContext;
    return super._performDimse(presentationContext, dimse);
  }

  nEventReportRequest(request, callback) {
    const ts = request.arrivalContext.getAcceptedTransferSyntaxUid();
    const dataset = request.hasDataset() && request.getDataset() ? request.getDataset() : null;
    out({ report: {
      message_id: request.getMessageId(),
      sop_class_uid: request.getAffectedSopClassUid(),
      sop_instance_uid: request.getAffectedSopInstanceUid(),
      event_type_id: request.getEventTypeId() ?? null,
      transfer_syntax: ts,
      dataset: dataset ? dataset.dicomJson : null,
    } });

    if (opts.abort) {
      this.sendAbort();
      setImmediate(() => this.socket.end());
      countHandled(this);
      return;
    }
    const response = NEventReportResponse.fromRequest(request); // copies class/instance/event type
    response.setStatus(opts.status);
    if (opts['error-comment'] !== undefined) response.setErrorComment(opts['error-comment']);
    const reply = opts.reply === 'echo' ? dataset && dataset.dicomJson : opts.replyJson;
    if (reply) response.setDataset(new JsonDataset(reply, ts));
    callback(response);
    countHandled(this);
  }
}

// --- storage commitment: the PACS side (PS3.4 J.3) ---------------------------------------
const STGCMT = '1.2.840.10008.1.20.1';
const STGCMT_INSTANCE = '1.2.840.10008.1.20.1.1';
const NO_SUCH_OBJECT_INSTANCE = 0x0112;

PeerScp.prototype.nActionRequest = function (request, callback) {
  const dataset = request.hasDataset() && request.getDataset() ? request.getDataset() : null;
  const calling = this.association.getCallingAeTitle();
  const called = this.association.getCalledAeTitle();
  out({ action: {
    message_id: request.getMessageId(),
    sop_class_uid: request.getRequestedSopClassUid(),
    sop_instance_uid: request.getRequestedSopInstanceUid(),
    action_type_id: request.getActionTypeId() ?? null,
    transfer_syntax: request.arrivalContext.getAcceptedTransferSyntaxUid(),
    calling_aet: calling,
    dataset: dataset ? dataset.dicomJson : null,
  } });
  const response = NActionResponse.fromRequest(request);
  response.setStatus(opts['action-status']);
  callback(response);
  if (opts['action-status'] === Status.Success && opts['report-port'] !== undefined && dataset) {
    // J.3.3: the result goes on a new association, from the AE title the N-ACTION called,
    // to the AE title the PACS knows for the modality (--report-aet, else its calling AE).
    setTimeout(() => sendResult(dataset.dicomJson, called, opts['report-aet'] || calling), 100);
  }
};

// The Event Information of the result: every requested instance, the last --fail N failed.
function result(action) {
  const items = (action['00081199'] && action['00081199'].Value) || [];
  const cut = items.length - (opts.fail || 0);
  const copy = (item) => ({ '00081150': item['00081150'], '00081155': item['00081155'] });
  const json = { '00081195': action['00081195'] };
  if (cut > 0) json['00081199'] = { vr: 'SQ', Value: items.slice(0, cut).map(copy) };
  if (cut < items.length) {
    json['00081198'] = { vr: 'SQ', Value: items.slice(cut).map((item) => ({
      ...copy(item), '00081197': { vr: 'US', Value: [NO_SUCH_OBJECT_INSTANCE] },
    })) };
  }
  return json;
}

function sendResult(action, ourAet, modalityAet) {
  const eventType = opts.fail ? 2 : 1;
  const report = new NEventReportRequest(STGCMT, STGCMT_INSTANCE, eventType);
  report.setDataset(new JsonDataset(result(action), TS.implicitLE));
  report.on('response', (response) => {
    out({ report_sent: { event_type_id: eventType, status: response.getStatus() } });
  });
  const client = new Client();
  client.addRequest(report);
  client.on('associationRejected', ({ result: r, source, reason }) => {
    out({ report_error: `association rejected (${r}/${source}/${reason})` });
  });
  client.on('networkError', (err) => out({ report_error: `network error: ${err.message}` }));
  client.send(host, opts['report-port'], ourAet, modalityAet);
  const network = client.network;
  // As scu.js: propose Storage Commitment with the SCP role (SCU-role 0, SCP-role 1), which
  // Client.send() cannot, and send the data set in the accepted transfer syntax.
  network.sendAssociationRequest = function (association) {
    association.clearPresentationContexts();
    const pcId = association.addPresentationContext(STGCMT);
    [TS.explicitLE, TS.implicitLE].forEach((ts) => association.addTransferSyntaxToPresentationContext(pcId, ts));
    const pc = association.getPresentationContext(pcId);
    pc.setUserRole(false);
    pc.setProviderRole(true);
    Object.getPrototypeOf(this).sendAssociationRequest.call(this, association);
  };
  network.sendRequests = function (requests) {
    const pc = this.association.getAcceptedPresentationContextFromRequest(report);
    if (!pc) {
      out({ report_error: 'the modality accepted no Storage Commitment context' });
      this.sendAssociationReleaseRequest();
      return;
    }
    report.getDataset().setTransferSyntaxUid(pc.getAcceptedTransferSyntaxUid());
    Object.getPrototypeOf(this).sendRequests.call(this, requests);
  };
}

function countHandled(scp) {
  if (!opts.count || ++handled < opts.count) return;
  // Let the peer receive the response and release; exit when the connection closes.
  scp.on('close', () => exitAfterOutput(0));
  setTimeout(() => exitAfterOutput(0), 3000).unref();
}

// dcmjs-dimse's Server.listen(port) cannot bind to a given host, so we run the
// (identical) accept loop ourselves: one Scp instance per connection.
const server = net.createServer((socket) => {
  const scp = new PeerScp(socket, {});
  scp.connected = true; // as Server.listen does, enables the association/PDU timeouts
  scp.on('networkError', (err) => {
    process.stderr.write(`network error: ${err.message}\n`);
    socket.end();
  });
});
server.on('error', (err) => {
  out({ error: `server error: ${err.message}` });
  process.exit(3);
});
server.listen(opts.port, host, () => {
  out({ listening: server.address().port });
  process.stderr.write(`scp.js listening on ${host}:${server.address().port} as ${opts.aet || 'ANY'}\n`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
