import NIOCore
import SwitchyardJSON

/// Which other nodes are alive, from their heartbeats; a pure value with an injected clock.
///
/// A node is alive from its first heartbeat (or registry entry) until it says goodbye or
/// stays silent longer than the expiry (three missed heartbeats by default).
struct ClusterNodeTable {
    private(set) var lastSeen: [String: NIODeadline] = [:]
    let expiry: TimeAmount

    init(expiry: TimeAmount) {
        self.expiry = expiry
    }

    var alive: Set<String> { Set(lastSeen.keys) }

    /// A heartbeat arrived; true when the node was not known.
    @discardableResult
    mutating func heartbeat(from uid: String, at now: NIODeadline) -> Bool {
        lastSeen.updateValue(now, forKey: uid) == nil
    }

    /// The node announced it is leaving.
    @discardableResult
    mutating func left(_ uid: String) -> Bool {
        lastSeen.removeValue(forKey: uid) != nil
    }

    /// Forgets nodes silent for longer than the expiry; returns them.
    mutating func expire(now: NIODeadline) -> [String] {
        let dead = lastSeen.filter { now - $0.value > expiry }.map(\.key)
        for uid in dead { lastSeen[uid] = nil }
        return dead
    }

    mutating func removeAll() -> [String] {
        let all = Array(lastSeen.keys)
        lastSeen.removeAll()
        return all
    }
}

/// Requests waiting for other nodes' answers. A request completes when every node that was
/// alive when it was sent has answered or has since died, or when it times out.
struct ClusterRequestTable<Completion> {
    struct Pending {
        var waitingFor: Set<String>
        /// Answers still expected from nodes without an id on the wire: socket.io (Node)
        /// servers, counted with `PUBSUB NUMSUB` as they count each other.
        var anonymous: Int = 0
        var responses: [ClusterResponse]
        var completion: Completion

        var isComplete: Bool { waitingFor.isEmpty && anonymous <= 0 }

        /// Who did not answer: Switchyard node ids, then one entry per silent socket.io node.
        var missing: [String] { waitingFor.sorted() + Array(repeating: "socket.io node", count: max(0, anonymous)) }
    }

    private(set) var pending: [String: Pending] = [:]

    mutating func add(id: String, waitingFor: Set<String>, anonymous: Int = 0, completion: Completion) {
        pending[id] = Pending(waitingFor: waitingFor, anonymous: anonymous, responses: [], completion: completion)
    }

    /// Records an answer: a Switchyard node's (it carries its `uid`) or a socket.io node's
    /// (the adapter's answers carry none).
    mutating func received(_ response: ClusterResponse, for id: String) -> Pending? {
        guard var request = pending[id] else { return nil }
        request.responses.append(response)
        if let uid = response.node { request.waitingFor.remove(uid) } else { request.anonymous -= 1 }
        if request.isComplete {
            pending[id] = nil
            return request
        }
        pending[id] = request
        return nil
    }

    mutating func nodeGone(_ uid: String) -> [Pending] {
        var finished: [Pending] = []
        for (id, var request) in pending where request.waitingFor.contains(uid) {
            request.waitingFor.remove(uid)
            if request.isComplete {
                pending[id] = nil
                finished.append(request)
            } else {
                pending[id] = request
            }
        }
        return finished
    }

    /// Takes a request out (timeout or shutdown).
    mutating func remove(_ id: String) -> Pending? {
        pending.removeValue(forKey: id)
    }

    mutating func removeAll() -> [Pending] {
        let all = Array(pending.values)
        pending.removeAll()
        return all
    }
}

/// One node's answer to a request.
struct ClusterResponse {
    /// The answering node (absent in answers from socket.io's own adapter).
    var node: String?
    var body: JSONObject
}
