import Foundation
import PackagePlugin

/// Compiles a target's text resources (`.sql`, `.yaml`, `.js` files under its directory) into
/// its code as `EmbeddedResources.files`, so the `intake` binary needs nothing beside it: a
/// SwiftPM resource bundle is found by path at run time, and a binary copied away from its
/// build directory would crash in `Bundle.module` before it could say why.
@main
struct EmbedResources: BuildToolPlugin {
    static let extensions: Set<String> = ["sql", "yaml", "js"]

    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let inputs = target.sourceFiles
            .filter { $0.type != .source && Self.extensions.contains($0.url.pathExtension) }
            .map(\.url)
            .sorted { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedResources.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) resources in \(target.name)",
                executable: try context.tool(named: "intake-embed").url,
                arguments: [output.path, target.directoryURL.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            ),
        ]
    }
}
