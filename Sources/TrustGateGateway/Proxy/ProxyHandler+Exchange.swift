import NIOCore
import TrustGateAllowList
import TrustGatePKI

/// Routing a request and sending it to a backend: on an idle pooled connection, or on a new one whose TLS
/// handshake the allow-list judges, failing over to the pool's next member when a connection fails.
extension ProxyHandler {
    func begin(_ request: HTTP1.Request, context: ChannelHandlerContext) {
        let now = self.now
        record = ExchangeRecord(request: request, start: now)
        lastWrite = nil
        heldHead = nil
        closeUpstream()
        let router = environment.routes.current
        limits = ProxyTimeouts.Limits(router)
        // Routed by the normalized path, which is also the path the backend gets.
        let path = request.target.path
        let site = router.site(on: environment.listener, host: request.host)
        if let redirect = router.redirect(listener: site.name) {
            answerItself()
            respondRedirect(redirect, request: request, router: router, context: context)
            return
        }
        guard let route = router.route(listener: site.name, path: path) else {
            answerItself()
            respondError(404, "Not Found", category: .noRoute, log: "no rule routes \(path)")
            return
        }
        record.pool = route.pool.name
        // Expect: 100-continue is answered here, as nginx does: the gateway is ready for the body; the backend
        // gets the request without the expectation.
        if request.expectsContinue {
            var interim = context.channel.allocator.buffer(capacity: 25)
            interim.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
            context.writeAndFlush(wrapOutboundOut(interim), promise: nil)
        }
        // Cookie-based affinity: the member the cookie names, while it is available; else the usual pick (and
        // the response carries a new cookie).
        let presentedAffinity = route.settings.affinity.flatMap { AffinityCookie.value(named: $0.cookieName, in: request.head) }
        let sticky = presentedAffinity.flatMap { router.stickyMember($0, in: route.pool) }
        switch sticky.map(Router.Pick.member) ?? router.pick(route.pool) {
        case .allUnhealthy(let category):
            answerItself()
            respondError(502, "Bad Gateway", category: category,
                         log: "every member of pool \(route.pool.name) is unhealthy (active probes)")
        case .noneAvailable(let category):
            answerItself()
            respondError(503, "Service Unavailable", category: category,
                         log: "no member of pool \(route.pool.name) is allowed and reachable")
        case .member(let member):
            var exchange = ProxyExchange(
                id: machine.exchangeCount, request: request, router: router, route: route, member: member
            )
            exchange.presentedAffinity = presentedAffinity
            machine.awaitResponse(at: now, within: .seconds(clamping: route.settings.requestTimeout))
            armTimer()
            dispatch(exchange, buffered: [], bytes: 0, context: context)
        }
    }

    private func answerItself() {
        exchange = nil
        machine.answerItself()
    }

    /// Sends the request head to the exchange's member: on an idle pooled connection when there is one, else on
    /// a new connection (the parts that arrive meanwhile are held).
    func dispatch(_ exchange: ProxyExchange, buffered: [ByteBuffer], bytes: Int, context: ChannelHandlerContext) {
        var exchange = exchange
        let settings = exchange.route.settings
        let key = UpstreamPool.Key(
            eventLoop: ObjectIdentifier(context.eventLoop), endpoint: UpstreamEndpoint(member: exchange.member, settings: settings)
        )
        var head = context.channel.allocator.buffer(capacity: exchange.head.bytes.count + 256)
        requestHead.write(exchange, into: &head)
        let toHEAD = exchange.head.isHEAD
        let dechunk = machine.requestMinorVersion == 0
        let webSocket = exchange.request.webSocket
        let connector = environment.connector
        record.member = exchange.target
        record.upstreamSentAt = now
        if !exchange.avoidPool, let link = connector.pool.take(key, generation: connector.generation) {
            attach(link)
            link.handler.expectResponse(toHEAD: toHEAD, dechunk: dechunk, webSocket: webSocket)
            exchange.fromPool = true
            exchange.bodySent = !buffered.isEmpty
            self.exchange = exchange
            machine.sendOnPooledConnection()
            link.channel.write(head, promise: nil)
            for part in buffered { link.channel.write(part, promise: nil) }
            upstreamNeedsFlush = true
            if !reading { flushUpstream() }
            resumeClient()
            return
        }
        self.exchange = exchange
        machine.connect(head: head, buffered: buffered, bytes: bytes)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let pool = connector.pool
        let handler = NIOLoopBound(UpstreamResponseHandler(), eventLoop: eventLoop)
        handler.value.owner = self
        handler.value.expectResponse(toHEAD: toHEAD, dechunk: dechunk, webSocket: webSocket)
        connector.connect(member: exchange.member, settings: settings, eventLoop: eventLoop) { channel in
            channel.closeFuture.whenComplete { _ in pool.forget(channel, key: key) }
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(handler.value)
            }
        }.hop(to: eventLoop).whenComplete { [id = exchange.id] completed in
            let result = (try? completed.get()) ?? .handshakeFailed("the connection attempt was abandoned")
            bound.value.connected(result, exchangeID: id) { connection in
                UpstreamLink(channel: connection.channel, handler: handler.value, key: key, admission: connection.admission,
                             leaf: connection.presented.first)
            }
        }
    }

    private func connected(
        _ result: UpstreamConnectResult, exchangeID: Int, link makeLink: (UpstreamConnector.Connection) -> UpstreamLink
    ) {
        guard let exchange, exchange.id == exchangeID, case .connecting = machine.phase, let context else {
            if case .connected(let connection) = result { connection.channel.close(promise: nil) }
            return
        }
        let pool = exchange.route.pool
        switch result {
        case .connected(let connection):
            let link = makeLink(connection)
            if let leaf = link.leaf {
                environment.metrics.handshake(pool: pool.name, category: .ok)
                environment.metrics.backendCertificate(pool: pool.name, member: exchange.target, leaf: leaf)
            }
            attach(link)
            let held = machine.connected() ?? []
            self.exchange?.bodySent = held.count > 1
            for part in held { link.channel.write(part, promise: nil) }
            link.channel.flush()
            resumeClient()
        case .rejected, .unreachable, .timeout, .handshakeFailed:
            let (status, category, detail) = describe(result, exchange: exchange)
            environment.metrics.handshake(pool: pool.name, category: category)
            exchange.router.markDown(pool, exchange.member, category: category)
            guard pool.members.count > 1 else {
                return finish(status, category: category, log: detail)
            }
            guard let next = exchange.failingOver() else {
                return finish(GatewayAnswer.serviceUnavailable, category: category,
                              log: "\(detail ?? category.rawValue); no other member of pool \(pool.name) is allowed and reachable")
            }
            environment.logger.notice("failing over to the next member", metadata: [
                "gateway": "\(environment.gateway)", "pool": "\(pool.name)", "member": "\(exchange.target)",
                "category": "\(category)", "next": "\(next.member)",
            ])
            let held = machine.heldBody
            dispatch(next, buffered: held.parts, bytes: held.bytes, context: context)
        }
    }

    /// The status, reason category and log detail for a failed upstream connection.
    private func describe(
        _ result: UpstreamConnectResult, exchange: ProxyExchange
    ) -> ((Int, String), GatewayOutcome, String?) {
        switch result {
        case .rejected(let verdict, _):
            logRejection(verdict, exchange: exchange)
            return (GatewayAnswer.badGateway, .verdict(verdict.category), nil)
        case .timeout(let detail):
            return (GatewayAnswer.gatewayTimeout, .verdict(.timeout), detail)
        case .connected, .unreachable, .handshakeFailed:
            return (GatewayAnswer.badGateway, .verdict(result.category), result.detail)
        }
    }

    /// No backend answers the exchange: the gateway does.
    func finish(_ status: (Int, String), category: GatewayOutcome, log: String?) {
        machine.failExchange()
        respondError(status.0, status.1, category: category, log: log)
    }

    private func respondRedirect(
        _ redirect: GatewayConfiguration.Redirect, request: HTTP1.Request, router: Router, context: ChannelHandlerContext
    ) {
        guard let listener = router.configuration.listeners.first(where: { $0.name == redirect.listener }) else { return }
        let port = environment.boundPorts.port(of: listener.name) ?? listener.port
        guard let answer = GatewayAnswer.redirect(redirect, request: request, to: listener, port: port) else {
            return respondError(400, "Bad Request", category: .badRequest, log: nil)
        }
        account(status: answer.status, bodyBytes: 0)
        send(answer, context: context)
    }

    private func logRejection(_ verdict: TrustVerdict, exchange: ProxyExchange) {
        let leaf = verdict.chain.first
        environment.logger.error("backend rejected", metadata: [
            "gateway": "\(environment.gateway)", "pool": "\(exchange.route.pool.name)", "member": "\(exchange.target)",
            "category": "\(verdict.category.rawValue)", "expected": "\(exchange.route.settings.hostName(for: exchange.member))",
            "leaf_sha256": "\(leaf?.sha256.hexString ?? "-")",
            "leaf_sans": "\(leaf?.subjectAlternativeNames.map(SubjectAlternativeName.display).joined(separator: ",") ?? "-")",
            "leaf_not_after": "\(leaf.map { RFC3339.format($0.notAfter) } ?? "-")",
            "detail": "\(verdict.detail)",
        ])
    }
}
