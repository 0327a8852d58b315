import NIOCore
import NIOHTTP1
import Testing
@testable import OCSServer

/// `HTTPRequestStateMachine` alone, without a channel: every event from every state a connection
/// can reach, the refused and impossible ones included.
struct HTTPRequestStateMachineTests {
    typealias Machine = HTTPRequestStateMachine

    /// An action, reduced to what the tests compare.
    enum Step: Equatable, CustomStringConvertible {
        case nothing
        case admit(uri: String)
        case respond(uri: String, bodyBytes: Int?, route: Route)
        case write(HTTPResponseStatus, uri: String, route: Route, closing: Bool)
        case refuseOversizedBody(uri: String)
        case close
        case closeAfterViolation

        init(_ action: Machine.Action) {
            switch action {
            case .nothing: self = .nothing
            case .admit(let head): self = .admit(uri: head.uri)
            case .respond(let request, let endpoint): self = .respond(uri: request.head.uri, bodyBytes: request.body?.readableBytes, route: endpoint.route)
            case .write(let response, let exchange, let closing):
                self = .write(response.status, uri: exchange.request.head.uri, route: exchange.route, closing: closing)
            case .refuseOversizedBody(let exchange): self = .refuseOversizedBody(uri: exchange.request.head.uri)
            case .close: self = .close
            case .closeAfterViolation: self = .closeAfterViolation
            }
        }

        var description: String {
            switch self {
            case .nothing: "nothing"
            case .admit(let uri): "admit \(uri)"
            case .respond(let uri, let bytes, let route): "respond \(uri) body \(bytes.map(String.init) ?? "none") at \(route.name)"
            case .write(let status, let uri, let route, let closing): "write \(status.code) for \(uri) at \(route.name)\(closing ? ", closing" : "")"
            case .refuseOversizedBody(let uri): "refuse the oversized body of \(uri)"
            case .close: "close"
            case .closeAfterViolation: "close after a violation"
            }
        }
    }

    /// The states a connection reaches, by the events that reach them.
    enum Reached: String, Codable, CaseIterable, Sendable {
        case idle
        case admitting
        /// Admitting, the whole request in.
        case admittingEnded
        case receiving
        case discarding
        case responding
        case closing
    }

    static let poll = HTTPRequest(
        head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/getexchangemitigations?build=15.2.1544.4"), remoteAddress: "127.0.0.1"
    )
    static let put = HTTPRequest(
        head: HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/api/v1/rules/M1", headers: ["Content-Length": "3"]), remoteAddress: "127.0.0.1"
    )
    static let started = NIODeadline.uptimeNanoseconds(1_000)
    static let feedResponse = HTTPResponse(status: .ok, body: ByteBuffer(string: "<feed/>"))

    /// A machine in `reached`; its request is a `PUT` with a 3-byte body where one is read
    /// (admitting, receiving, responding), a poll where none is (discarding: refused, no body).
    static func machine(_ reached: Reached) -> Machine {
        var machine = Machine()
        switch reached {
        case .idle:
            break
        case .admitting:
            _ = machine.headReceived(put, at: started)
        case .admittingEnded:
            _ = machine.headReceived(put, at: started)
            _ = machine.bodyReceived(ByteBuffer(string: "abc"))
            _ = machine.endReceived()
        case .receiving:
            _ = machine.headReceived(put, at: started)
            _ = machine.admitted(to: .health)
        case .discarding:
            _ = machine.headReceived(poll, at: started)
            _ = machine.refused(with: .text(.notFound, "no such path"))
        case .responding:
            _ = machine.headReceived(put, at: started)
            _ = machine.admitted(to: .health)
            _ = machine.bodyReceived(ByteBuffer(string: "abc"))
            _ = machine.endReceived()
        case .closing:
            _ = machine.errorCaught()
        }
        #expect(Self.name(machine.state) == reached.rawValue, "set-up reached \(reached)")
        return machine
    }

    static func name(_ state: Machine.State) -> String {
        switch state {
        case .idle: "idle"
        case .admitting(_, ended: false): "admitting"
        case .admitting(_, ended: true): "admittingEnded"
        case .receiving: "receiving"
        case .discarding: "discarding"
        case .responding: "responding"
        case .closing: "closing"
        case .modifying: "modifying"
        }
    }

    static func expect(_ machine: Machine, in reached: Reached, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(name(machine.state) == reached.rawValue, sourceLocation: sourceLocation)
    }

    // MARK: A keep-alive connection's requests

    @Test func aPollIsAdmittedAnsweredAndTheConnectionWaitsForTheNext() {
        var machine = Machine()
        for _ in 1...2 {
            #expect(Step(machine.headReceived(Self.poll, at: Self.started)) == .admit(uri: Self.poll.head.uri))
            #expect(Step(machine.admitted(to: .feed)) == .nothing)
            Self.expect(machine, in: .receiving)
            #expect(Step(machine.endReceived()) == .respond(uri: Self.poll.head.uri, bodyBytes: nil, route: .feed))
            #expect(Step(machine.responseReady(Self.feedResponse)) == .write(.ok, uri: Self.poll.head.uri, route: .feed, closing: false))
            Self.expect(machine, in: .idle)
        }
    }

    @Test func theWriteCarriesItsOwnRequestsStartAndRouteWhenTheNextArrivesBeforeItIsPerformed() {
        // Writing a response's end makes HTTPServerPipelineHandler deliver a pipelined request at
        // once, inside the write: the written exchange must not be the new one.
        var machine = Machine()
        _ = machine.headReceived(Self.poll, at: Self.started)
        _ = machine.admitted(to: .feed)
        _ = machine.endReceived()
        let write = machine.responseReady(Self.feedResponse)
        #expect(Step(machine.headReceived(Self.put, at: .uptimeNanoseconds(9_000))) == .admit(uri: Self.put.head.uri))
        guard case .write(_, let exchange, _) = write else {
            Issue.record("not a write: \(Step(write))")
            return
        }
        #expect(exchange.started == Self.started)
        #expect(exchange.route == .feed)
        #expect(exchange.request.head.uri == Self.poll.head.uri)
    }

    // MARK: From idle

    @Test func idleTakesAHead() {
        var machine = Self.machine(.idle)
        #expect(Step(machine.headReceived(Self.put, at: Self.started)) == .admit(uri: Self.put.head.uri))
        Self.expect(machine, in: .admitting)
    }

    @Test func idleRefusesABodyOrAnEndWithoutAHead() {
        var machine = Self.machine(.idle)
        #expect(Step(machine.bodyReceived(ByteBuffer(string: "abc"))) == .closeAfterViolation)
        Self.expect(machine, in: .closing)
        machine = Self.machine(.idle)
        #expect(Step(machine.endReceived()) == .closeAfterViolation)
        Self.expect(machine, in: .closing)
    }

    @Test func idleClosesAtTheIdleTimeout() {
        var machine = Self.machine(.idle)
        #expect(Step(machine.idleTimeoutPassed()) == .close)
        Self.expect(machine, in: .closing)
    }

    // MARK: From admitting

    @Test func admittingThenAdmittedReceivesTheBody() {
        var machine = Self.machine(.admitting)
        #expect(Step(machine.admitted(to: .dashboard(session: nil))) == .nothing)
        Self.expect(machine, in: .receiving)
        #expect(Step(machine.bodyReceived(ByteBuffer(string: "abc"))) == .nothing)
        #expect(Step(machine.endReceived()) == .respond(uri: Self.put.head.uri, bodyBytes: 3, route: .dashboard))
    }

    @Test func admittingCollectsTheBodyAndTheEndWhileTheDecisionIsMade() {
        var machine = Self.machine(.admitting)
        #expect(Step(machine.bodyReceived(ByteBuffer(string: "ab"))) == .nothing)
        #expect(Step(machine.bodyReceived(ByteBuffer(string: "c"))) == .nothing)
        Self.expect(machine, in: .admitting)
        #expect(Step(machine.endReceived()) == .nothing)
        Self.expect(machine, in: .admittingEnded)
        #expect(Step(machine.admitted(to: .dashboard(session: nil))) == .respond(uri: Self.put.head.uri, bodyBytes: 3, route: .dashboard))
        Self.expect(machine, in: .responding)
    }

    @Test func admittingRefusesABodyPastTheLimitAndCloses() {
        var machine = Self.machine(.admitting)
        #expect(Step(machine.bodyReceived(ByteBuffer(repeating: 0, count: HTTPRequest.maximumBodySize + 1))) == .refuseOversizedBody(uri: Self.put.head.uri))
        Self.expect(machine, in: .closing)
    }

    @Test func aRefusedRequestWithABodyIsAnsweredAtOnceAndTheConnectionCloses() {
        var machine = Self.machine(.admitting)
        #expect(Step(machine.refused(with: .text(.unauthorized, "no token"))) == .write(.unauthorized, uri: Self.put.head.uri, route: .refused, closing: true))
        Self.expect(machine, in: .closing)
        // The body it announced is dropped unread.
        #expect(Step(machine.bodyReceived(ByteBuffer(string: "abc"))) == .nothing)
        #expect(Step(machine.endReceived()) == .nothing)
        Self.expect(machine, in: .closing)
    }

    @Test func aRefusedRequestWithoutABodyIsAnsweredAtItsEndAndTheConnectionStaysOpen() {
        var machine = Self.machine(.idle)
        _ = machine.headReceived(Self.poll, at: Self.started)
        #expect(Step(machine.refused(with: .text(.notFound, "no such path"))) == .nothing)
        Self.expect(machine, in: .discarding)
        #expect(Step(machine.endReceived()) == .write(.notFound, uri: Self.poll.head.uri, route: .refused, closing: false))
        Self.expect(machine, in: .idle)
    }

    @Test func admittingRefusesASecondHead() {
        var machine = Self.machine(.admitting)
        #expect(Step(machine.headReceived(Self.poll, at: Self.started)) == .closeAfterViolation)
        Self.expect(machine, in: .closing)
    }

    @Test func admittingOutlivesTheIdleTimeout() {
        var machine = Self.machine(.admitting)
        #expect(Step(machine.idleTimeoutPassed()) == .nothing)
        Self.expect(machine, in: .admitting)
    }

    // MARK: From admitting, the whole request in

    @Test func aCompleteRequestAdmittedLaterIsAnsweredWithItsBody() {
        var machine = Self.machine(.admittingEnded)
        #expect(Step(machine.admitted(to: .health)) == .respond(uri: Self.put.head.uri, bodyBytes: 3, route: .health))
        Self.expect(machine, in: .responding)
    }

    @Test func aCompleteRequestRefusedLaterIsAnsweredAndTheConnectionStaysOpen() {
        var machine = Self.machine(.admittingEnded)
        #expect(Step(machine.refused(with: .text(.forbidden, "role"))) == .write(.forbidden, uri: Self.put.head.uri, route: .refused, closing: false))
        Self.expect(machine, in: .idle)
    }

    @Test(arguments: ["head", "body", "end"])
    func aCompleteRequestAwaitingAdmissionTakesNoMoreParts(part: String) {
        var machine = Self.machine(.admittingEnded)
        #expect(Step(Self.receive(part, machine: &machine)) == .closeAfterViolation)
        Self.expect(machine, in: .closing)
    }

    @Test func aCompleteRequestAwaitingAdmissionOutlivesTheIdleTimeout() {
        var machine = Self.machine(.admittingEnded)
        #expect(Step(machine.idleTimeoutPassed()) == .nothing)
        Self.expect(machine, in: .admittingEnded)
    }

    // MARK: From receiving

    @Test func receivingCollectsABodyOfExactlyTheLimit() {
        var machine = Self.machine(.receiving)
        let half = HTTPRequest.maximumBodySize / 2
        #expect(Step(machine.bodyReceived(ByteBuffer(repeating: 1, count: half))) == .nothing)
        #expect(Step(machine.bodyReceived(ByteBuffer(repeating: 2, count: HTTPRequest.maximumBodySize - half))) == .nothing)
        Self.expect(machine, in: .receiving)
        #expect(Step(machine.endReceived()) == .respond(uri: Self.put.head.uri, bodyBytes: HTTPRequest.maximumBodySize, route: .health))
    }

    @Test func receivingRefusesTheByteThatPassesTheLimit() {
        var machine = Self.machine(.receiving)
        #expect(Step(machine.bodyReceived(ByteBuffer(repeating: 1, count: HTTPRequest.maximumBodySize))) == .nothing)
        #expect(Step(machine.bodyReceived(ByteBuffer(string: "x"))) == .refuseOversizedBody(uri: Self.put.head.uri))
        Self.expect(machine, in: .closing)
        #expect(Step(machine.bodyReceived(ByteBuffer(string: "more"))) == .nothing)
        #expect(Step(machine.endReceived()) == .nothing)
    }

    @Test func receivingRefusesASecondHead() {
        var machine = Self.machine(.receiving)
        #expect(Step(machine.headReceived(Self.poll, at: Self.started)) == .closeAfterViolation)
        Self.expect(machine, in: .closing)
    }

    @Test func receivingOutlivesTheIdleTimeout() {
        var machine = Self.machine(.receiving)
        #expect(Step(machine.idleTimeoutPassed()) == .nothing)
        Self.expect(machine, in: .receiving)
    }

    // MARK: From discarding

    @Test(arguments: ["head", "body"])
    func discardingTakesNoHeadNorBody(part: String) {
        var machine = Self.machine(.discarding)
        #expect(Step(Self.receive(part, machine: &machine)) == .closeAfterViolation)
        Self.expect(machine, in: .closing)
    }

    @Test func discardingOutlivesTheIdleTimeout() {
        var machine = Self.machine(.discarding)
        #expect(Step(machine.idleTimeoutPassed()) == .nothing)
        Self.expect(machine, in: .discarding)
    }

    // MARK: From responding

    @Test func respondingWritesTheResponseWithTheRequestsRouteAndWaitsForTheNext() {
        var machine = Self.machine(.responding)
        if case .responding(let exchange) = machine.state {
            #expect(exchange.request.body == nil, "the body is not held while the response is prepared")
        }
        #expect(Step(machine.responseReady(.text(.ok, "ok"))) == .write(.ok, uri: Self.put.head.uri, route: .health, closing: false))
        Self.expect(machine, in: .idle)
    }

    @Test(arguments: ["head", "body", "end"])
    func respondingTakesNoRequestPartWhileTheResponseIsInFlight(part: String) {
        var machine = Self.machine(.responding)
        #expect(Step(Self.receive(part, machine: &machine)) == .closeAfterViolation)
        Self.expect(machine, in: .closing)
        // The response still coming is not written on a connection that broke the rules.
        #expect(Step(machine.responseReady(.text(.ok, "ok"))) == .nothing)
    }

    @Test func respondingOutlivesTheIdleTimeout() {
        var machine = Self.machine(.responding)
        #expect(Step(machine.idleTimeoutPassed()) == .nothing)
        Self.expect(machine, in: .responding)
    }

    // MARK: From closing

    @Test(arguments: ["head", "body", "end"])
    func closingDropsWhatStillArrives(part: String) {
        var machine = Self.machine(.closing)
        #expect(Step(Self.receive(part, machine: &machine)) == .nothing)
        Self.expect(machine, in: .closing)
    }

    @Test func closingDropsADecisionOrResponseMadeOffTheLoop() {
        var machine = Self.machine(.closing)
        #expect(Step(machine.admitted(to: .feed)) == .nothing)
        #expect(Step(machine.refused(with: .text(.notFound, "no"))) == .nothing)
        #expect(Step(machine.responseReady(Self.feedResponse)) == .nothing)
        #expect(Step(machine.idleTimeoutPassed()) == .nothing)
        Self.expect(machine, in: .closing)
    }

    // MARK: Errors, from every state

    @Test(arguments: Reached.allCases)
    func anErrorClosesTheConnection(from reached: Reached) {
        var machine = Self.machine(reached)
        #expect(Step(machine.errorCaught()) == .close)
        Self.expect(machine, in: .closing)
    }

    @Test(arguments: [Reached.admitting, .admittingEnded, .responding])
    func anErrorWhileWorkIsOffTheLoopDropsItsResult(from reached: Reached) {
        var machine = Self.machine(reached)
        _ = machine.errorCaught()
        #expect(Step(machine.admitted(to: .feed)) == .nothing)
        #expect(Step(machine.responseReady(Self.feedResponse)) == .nothing)
        Self.expect(machine, in: .closing)
    }

    // MARK: The handler's own callbacks out of turn: precondition failures

    /// States where nothing waits for an admission, and where nothing waits for a response.
    static let awaitingNoAdmission: [Reached] = [.idle, .receiving, .discarding, .responding]
    static let awaitingNoResponse: [Reached] = [.idle, .admitting, .admittingEnded, .receiving, .discarding]

    @Test(arguments: awaitingNoAdmission)
    func anAdmissionNobodyAwaitsIsAPreconditionFailure(in reached: Reached) async {
        await #expect(processExitsWith: .failure) { [reached] in
            var machine = HTTPRequestStateMachineTests.machine(reached)
            _ = machine.admitted(to: .feed)
        }
        await #expect(processExitsWith: .failure) { [reached] in
            var machine = HTTPRequestStateMachineTests.machine(reached)
            _ = machine.refused(with: .text(.notFound, "no"))
        }
    }

    @Test(arguments: awaitingNoResponse)
    func aResponseNobodyAwaitsIsAPreconditionFailure(in reached: Reached) async {
        await #expect(processExitsWith: .failure) { [reached] in
            var machine = HTTPRequestStateMachineTests.machine(reached)
            _ = machine.responseReady(.text(.ok, "ok"))
        }
    }

    // MARK: Helpers

    /// Feeds one request part of the named kind.
    static func receive(_ part: String, machine: inout Machine) -> Machine.Action {
        switch part {
        case "head": machine.headReceived(poll, at: started)
        case "body": machine.bodyReceived(ByteBuffer(string: "abc"))
        case "end": machine.endReceived()
        default: preconditionFailure("no such part: \(part)")
        }
    }
}
