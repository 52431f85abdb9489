'use strict';
// What ups_scp.js and ups_subscriber.js share: the UPS UIDs (PS3.4 Annex CC), an acceptor
// that takes every proposed context, and a requestor that proposes exactly the contexts
// asked for. See README.md.
const net = require('net');
const { dimse, TS, out } = require('./lib');
const { Scp, Client } = dimse;
const { PresentationContextResult: PCResult } = dimse.constants;

const UPS = {
  push: '1.2.840.10008.5.1.4.34.6.1',
  watch: '1.2.840.10008.5.1.4.34.6.2',
  event: '1.2.840.10008.5.1.4.34.6.4',
  global: '1.2.840.10008.5.1.4.34.5',
  filteredGlobal: '1.2.840.10008.5.1.4.34.5.1',
};
const ACTION = { subscribe: 3, unsubscribe: 4, suspendGlobal: 5 };
const TAG = {
  receivingAe: '00741234',
  deletionLock: '00741230',
  procedureStepState: '00741000',
  inputReadinessState: '00404041',
};
const LE_SYNTAXES = [TS.explicitLE, TS.implicitLE];

const role = (r) => (r === undefined ? null : r ? 1 : 0);

function value(json, tag) {
  const el = json && json[tag];
  return el && el.Value ? el.Value[0] : null;
}

// An acceptor for one connection: every proposed context is accepted with the proposer's
// first Explicit/Implicit VR LE transfer syntax (role items come back as proposed, see
// README "limitations" 4). It prints {"association": ...} and remembers the context each
// message arrived on as message.arrivalContext (README "limitations" 6).
class AcceptAllScp extends Scp {
  associationRequested(association) {
    this.association = association;
    const contexts = association.getPresentationContexts().map(({ id, context }) => {
      const ts = context.getTransferSyntaxUids().find((t) => LE_SYNTAXES.includes(t));
      if (ts) context.setResult(PCResult.Accept, ts);
      else context.setResult(PCResult.RejectTransferSyntaxesNotSupported);
      return {
        id, abstract_syntax: context.getAbstractSyntaxUid(), transfer_syntax: ts || null,
        result: context.getResult(),
        scu_role: role(context.getUserRole()), scp_role: role(context.getProviderRole()),
      };
    });
    out({ association: {
      calling_aet: association.getCallingAeTitle(), called_aet: association.getCalledAeTitle(),
      contexts,
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

  _performDimse(presentationContext, message) {
    message.arrivalContext = presentationContext;
    return super._performDimse(presentationContext, message);
  }
}

// dcmjs-dimse's Server.listen(port) cannot bind a host: run its accept loop ourselves.
function serve(ScpClass, host, port, onListening) {
  const server = net.createServer((socket) => {
    const scp = new ScpClass(socket, {});
    scp.connected = true; // as Server.listen does: enables the association/PDU timeouts
    scp.on('networkError', (err) => {
      process.stderr.write(`network error: ${err.message}\n`);
      socket.end();
    });
  });
  server.on('error', (err) => {
    out({ error: `server error: ${err.message}` });
    process.exit(3);
  });
  server.listen(port, host, () => onListening(server.address().port));
  return server;
}

// Send `requests` on one new association that proposes exactly `contexts`
// ([{abstractSyntax, scpRole}]: scpRole adds a role item SCU-role 0, SCP-role 1), each with
// Explicit and Implicit VR LE. Every request's data set is put into its context's accepted
// transfer syntax first (README "limitations" 3). `on` gets 'associationAccepted' (the AC as
// {called_aet, calling_aet, contexts}), 'error' (a message) and 'closed'.
function sendOnNewAssociation({ host, port, callingAet, calledAet, contexts, requests, on }) {
  const client = new Client();
  requests.forEach((request) => client.addRequest(request));
  client.on('associationRejected', ({ result, source, reason }) => {
    on.error(`association rejected (result ${result}, source ${source}, reason ${reason})`);
  });
  client.on('networkError', (err) => on.error(`network error: ${err.message}`));
  client.on('closed', () => on.closed());
  client.on('associationAccepted', (association) => {
    on.associationAccepted({
      called_aet: association.getCalledAeTitle(), calling_aet: association.getCallingAeTitle(),
      contexts: association.getPresentationContexts().map(({ id, context }) => ({
        id, abstract_syntax: context.getAbstractSyntaxUid(),
        transfer_syntax: context.getResult() === 0 ? context.getAcceptedTransferSyntaxUid() : null,
        result: context.getResult(),
        scu_role: role(context.getUserRole()), scp_role: role(context.getProviderRole()),
      })),
    });
  });
  client.send(host, port, callingAet, calledAet);
  const network = client.network;
  network.sendAssociationRequest = function (association) {
    association.clearPresentationContexts();
    for (const { abstractSyntax, scpRole } of contexts) {
      const pcId = association.addPresentationContext(abstractSyntax);
      LE_SYNTAXES.forEach((ts) => association.addTransferSyntaxToPresentationContext(pcId, ts));
      if (scpRole) {
        const pc = association.getPresentationContext(pcId);
        pc.setUserRole(false);
        pc.setProviderRole(true);
      }
    }
    Object.getPrototypeOf(this).sendAssociationRequest.call(this, association);
    // Forget the proposed roles: after the AC a context has roles only if the acceptor
    // answered with a role selection item.
    for (const { context } of association.getPresentationContexts()) {
      context.setUserRole(undefined);
      context.setProviderRole(undefined);
    }
  };
  network.sendRequests = function (pending) {
    for (const request of requests) {
      const pc = this.association.getAcceptedPresentationContextFromRequest(request);
      if (!pc) {
        on.error(`no presentation context accepted for ${request.getMetaSopClassUid()}`);
        this.sendAssociationReleaseRequest();
        return;
      }
      if (request.getDataset()) request.getDataset().setTransferSyntaxUid(pc.getAcceptedTransferSyntaxUid());
    }
    Object.getPrototypeOf(this).sendRequests.call(this, pending);
  };
  network.on('abort', ({ source, reason }) => {
    on.error(`association aborted by peer (source ${source}, reason ${reason})`);
    network.socket.end();
  });
  return client;
}

module.exports = { UPS, ACTION, TAG, LE_SYNTAXES, value, AcceptAllScp, serve, sendOnNewAssociation };
