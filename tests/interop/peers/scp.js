#!/usr/bin/env node
'use strict';
// N-EVENT-REPORT receiver (association acceptor) built on dcmjs-dimse. See README.md.
const fs = require('fs');
const net = require('net');
const { dimse, TS, out, exitAfterOutput, UsageError, parseArgs, parseIntArg, JsonDataset, setupLogging } =
  require('./lib');
const { Scp } = dimse;
const { CEchoResponse, NEventReportResponse } = dimse.responses;
const { PresentationContextResult: PCResult, RejectResult, RejectSource, RejectReason, Status } =
  dimse.constants;

const USAGE = `usage: node scp.js --port N [--host 127.0.0.1] [--aet AET] [--status CODE]
  [--error-comment TEXT] [--reply none|echo|FILE.json] [--abort] [--reject]
  [--require-called-aet] [--count N] [--transfer-syntax UID ...] [--verbose]`;

let opts;
try {
  opts = parseArgs(process.argv.slice(2), {
    port: 'int', host: 'string', aet: 'string', status: 'string', 'error-comment': 'string',
    reply: 'string', abort: 'bool', reject: 'bool', 'require-called-aet': 'bool', count: 'int',
    'transfer-syntax': 'list', verbose: 'bool',
  });
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
