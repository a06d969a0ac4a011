import SwitchyardPluginKit

/// The benchmark contract on `/`: `echo` acknowledges with its arguments; `broadcast`
/// re-emits its arguments as `broadcast` to every socket of the namespace.
///
/// Both are synchronous raw operations: they never decode the payload, so the benchmark
/// measures the server and the plugin boundary, not JSON.
let plugin = Plugin(name: "echo", version: "1.0.0") { echo in
    echo.rawOperation("echo", summary: "Acknowledges with its arguments") { call in
        call.arguments
    }
    echo.rawOperation("broadcast", summary: "Re-emits its arguments as 'broadcast' to the whole namespace") { call in
        try call.context.host.emit(to: .namespace, in: call.context.namespace, event: "broadcast", call.arguments)
        return .none
    }
    echo.serverEvent("broadcast", summary: "Whatever a client broadcast")
    echo.route(namespace: "/", event: "echo", operation: "echo")
    echo.route(namespace: "/", event: "broadcast", operation: "broadcast", ack: false)
}

@_cdecl("switchyard_plugin_entry")
public func switchyardPluginEntry() -> UnsafeRawPointer { plugin.export() }
