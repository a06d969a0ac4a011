import SocketIO

/// An event chain ready to run: its steps in order (first runs outermost) and how many of
/// them run before the event's arguments are decoded.
public struct EventChain: Sendable, Hashable {
    public struct Step: Sendable, Hashable {
        /// Unique across the plan (keys rate-limit buckets).
        public let id: Int
        public let step: EventStep
    }

    public let steps: [Step]
    /// The leading steps that need no decoded arguments (size, rate, built-in guards).
    public let stepsBeforeDecoding: Int

    init(steps: [Step]) {
        self.steps = steps
        self.stepsBeforeDecoding = steps.prefix { $0.step.runsBeforeDecoding }.count
    }

    public var description: String { steps.map(\.step.description).joined(separator: " → ") }
}

/// What one namespace pattern runs: its connect chain, its default event chain, the chains
/// of routes that have their own, and its strike policy.
public struct NamespacePlan: Sendable {
    public let pattern: String
    public let connect: [ConnectStep]
    public let events: EventChain
    public let routeChains: [String: EventChain]
    public let strikes: StrikePolicy?
    /// What an event with no route gets.
    public let unknownEvents: UnknownEventPolicy

    /// The chain an event runs through.
    public func chain(for event: String) -> EventChain {
        routeChains[event] ?? events
    }
}

/// Every namespace's chains, composed once when the server starts (after the registry is
/// frozen) and immutable afterwards. Building it checks every reference: guards and
/// identity resolvers must exist, route-only chains must name a routed event.
///
/// Order is explicit: a chain runs its steps in the order configured, the first listed
/// outermost. Payload validation always runs: a chain that does not list `validate` gets it
/// last. Steps that need no decoded arguments (size, rate, built-in guards) at the head of
/// a chain run before the event's JSON is read.
public struct MiddlewarePlan: Sendable {
    public let namespaces: [String: NamespacePlan]

    public static func build(registry: OperationRegistry, configuration: ServerConfiguration) throws(PluginHostError) -> MiddlewarePlan {
        var problems: [String] = []
        var nextID = 0
        func chain(_ steps: [EventStep], _ place: String) -> EventChain {
            var steps = steps
            if !steps.contains(.validate) { steps.append(.validate) }
            for step in steps {
                if case .guard(.plugin(let name)) = step, registry.guards[name] == nil {
                    problems.append("\(place): guard '\(name)' is not provided by any plugin")
                }
            }
            return EventChain(steps: steps.map { step in
                nextID += 1
                return EventChain.Step(id: nextID, step: step)
            })
        }

        var plans: [String: NamespacePlan] = [:]
        for namespace in registry.namespaces {
            let pattern = namespace.pattern.text
            let own = configuration.namespaces[pattern]
            let place = "namespace \(pattern)"
            var connect = own?.middleware.connect ?? configuration.middleware.connect ?? []
            if own?.middleware.connect == nil, let identity = own?.identity {
                connect = [.identity(resolver: identity)] + connect.filter { if case .identity = $0 { return false } else { return true } }
            }
            for step in connect {
                switch step {
                case .identity(let resolver) where registry.identityResolvers[resolver] == nil:
                    problems.append("\(place): identity resolver '\(resolver)' is not provided by any plugin")
                case .guard(.plugin(let name)) where registry.guards[name] == nil:
                    problems.append("\(place): connect guard '\(name)' is not provided by any plugin")
                case .origins(let patterns):
                    for origin in patterns where origin.isEmpty { problems.append("\(place): an empty origin pattern") }
                default:
                    break
                }
            }
            let events = chain(own?.middleware.events ?? configuration.middleware.events ?? [], place)
            var routeChains: [String: EventChain] = [:]
            for route in configuration.routes where route.namespace == pattern {
                guard let steps = route.events else { continue }
                if route.operation == nil, namespace.routes[route.event] == nil {
                    problems.append("route '\(route.event)' in namespace '\(pattern)' sets a chain but nothing routes that event")
                }
                routeChains[route.event] = chain(steps, "route '\(route.event)' in namespace '\(pattern)'")
            }
            plans[pattern] = NamespacePlan(
                pattern: pattern,
                connect: connect,
                events: events,
                routeChains: routeChains,
                strikes: own?.middleware.strikes ?? configuration.middleware.strikes,
                unknownEvents: own?.middleware.unknownEvents ?? configuration.middleware.unknownEvents ?? .error
            )
        }
        for pattern in configuration.namespaces.keys where plans[pattern] == nil {
            problems.append("namespace \(pattern) is configured but not served")
        }
        guard problems.isEmpty else { throw PluginHostError(problems: problems) }
        return MiddlewarePlan(namespaces: plans)
    }
}
