import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OCSDomain
import OCSOperations
import OCSRuleFiles
import OCSStorage

/// `POST /enroll`: an agent exchanges a one-time enrollment token (`Authorization: Bearer
/// ocs-enroll_…`) for a host credential bound to its serverId, answered `201` with JSON
/// `{"hostId", "serverId", "credential"}`. No API token: the enrollment token is the authority,
/// made by an admin (`ocs enrollment create`). Errors are JSON `{"error"}` as in the admin API.
struct EnrollmentEndpoint: Sendable {
    static let path = "/enroll"
    /// The body is two short fields: anything longer is not an enrollment.
    static let maximumBodySize = 4096

    let enrollment: EnrollmentStore
    let threadPool: NIOThreadPool
    let logger: Logger

    func respond(to request: HTTPRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        let asked: (token: String, serverID: String, serverName: String?)
        do {
            asked = try Self.parse(request)
        } catch {
            return eventLoop.makeSucceededFuture(error.response(logger: logger))
        }
        let remoteAddress = request.remoteAddress
        return threadPool.runIfActive(eventLoop: eventLoop) { [enrollment] () -> HTTPResponse in
            do throws(EnrollmentError) {
                let enrolled = try enrollment.enroll(token: asked.token, serverID: asked.serverID, serverName: asked.serverName, remoteAddress: remoteAddress)
                return AdminAPI.json(.created, EnrollmentView(hostId: enrolled.hostID, serverId: enrolled.serverID, credential: enrolled.credential, reenrolled: enrolled.reenrolled))
            } catch {
                return OperationError(error).response(logger: logger)
            }
        }.recover { [logger] error in
            logger.error("enrollment failed", metadata: ["error": "\(error)"])
            return AdminAPI.error(.internalServerError, "internal error: see the server log")
        }
    }

    /// The token, serverId (normalized) and name a request asks to enroll, or the refusal.
    static func parse(_ request: HTTPRequest) throws(APIInputError) -> (token: String, serverID: String, serverName: String?) {
        guard let token = request.head.headers.bearerToken, token.utf8.count <= 128 else {
            var response = AdminAPI.error(.unauthorized, "send the enrollment token as Authorization: Bearer ocs-enroll_… (ask an admin: ocs enrollment create)")
            response.headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"ocs-enroll\"")
            throw APIInputError(response: response)
        }
        if (request.body?.readableBytes ?? 0) > maximumBodySize {
            throw APIInputError(response: AdminAPI.error(.payloadTooLarge, "the body is \(maximumBodySize) bytes at most: {\"serverId\": GUID, \"server\": NAME}"))
        }
        let body = try AdminAPI.jsonBody(request, required: true)
        func refuse(_ field: String, _ message: String) -> APIInputError { AdminAPI.refusal(field, message) }
        let expected = "expected {\"serverId\": GUID, \"server\": NAME}, both strings, serverId required"
        let object = try AdminAPI.fields(of: body ?? .null, allowed: ["serverId", "server"], expected: expected)
        var fields: [String: String] = [:]
        for (name, value) in object {
            guard let text = value.string else { throw refuse(name, expected) }
            fields[name] = text
        }
        guard let serverID = fields["serverId"].flatMap(HostIdentity.normalizedGUID) else {
            throw refuse("serverId", EnrollmentError.invalidServerID.description)
        }
        if let name = fields["server"], !HostIdentity.isValidName(name) {
            throw refuse("server", EnrollmentError.invalidName.description)
        }
        return (token, serverID, fields["server"])
    }
}

/// A host just enrolled: the credential its polls carry from now on, shown this once.
struct EnrollmentView: Encodable {
    let hostId: Int64
    let serverId: String
    let credential: String
    let reenrolled: Bool
}
