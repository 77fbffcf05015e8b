import Foundation
import Testing
import TrustGateTesting

/// The man pages and README are part of the product: these tests fail when they fall behind the commands.
@Suite("Man pages and README stay in step with the commands")
struct DocumentationTests {
    struct Command {
        var path: [String]
        var abstract: String
        var discussion: String
        /// Long option names and each argument's help line.
        var options: [(name: String, help: String)]
    }

    /// Every command, from `trustgate --experimental-dump-help` (the data `generate-manual` renders).
    static func commands() throws -> [Command] {
        let dump = try TrustGateBinary.run(["--experimental-dump-help"])
        let json = try JSONSerialization.jsonObject(with: Data(dump.standardOutput)) as? [String: Any]
        var found: [Command] = []
        func walk(_ node: [String: Any], path: [String]) {
            guard let name = node["commandName"] as? String, name != "help" else { return }
            let fullPath = path + [name]
            let arguments = (node["arguments"] as? [[String: Any]]) ?? []
            let options = arguments.compactMap { argument -> (String, String)? in
                guard argument["shouldDisplay"] as? Bool != false else { return nil }
                let names = (argument["names"] as? [[String: Any]]) ?? []
                let long = names.first { $0["kind"] as? String == "long" }?["name"] as? String
                return (long ?? (argument["valueName"] as? String ?? ""), argument["abstract"] as? String ?? "")
            }
            found.append(Command(path: fullPath, abstract: node["abstract"] as? String ?? "",
                                 discussion: node["discussion"] as? String ?? "", options: options))
            for sub in (node["subcommands"] as? [[String: Any]]) ?? [] { walk(sub, path: fullPath) }
        }
        if let command = json?["command"] as? [String: Any] { walk(command, path: []) }
        return found
    }

    @Test("Every command has an abstract, a discussion with EXAMPLES, and a current man page")
    func manPagesCurrent() throws {
        let commands = try Self.commands()
        #expect(commands.count >= 8)
        let manDirectory = (TrustGateBinary.packageRoot as NSString).appendingPathComponent("Man")
        var expectedPages: Set<String> = []
        for command in commands {
            let page = command.path.joined(separator: ".") + ".1"
            expectedPages.insert(page)
            #expect(!command.abstract.isEmpty, "\(page): abstract")
            #expect(command.discussion.contains("EXAMPLES:"), "\(page): discussion with EXAMPLES")
            // A backslash ends a line only as a shell continuation (EXAMPLES, or an indented command); in prose it
            // is a `\\` meant as `\`.
            let prose = command.discussion.components(separatedBy: "EXAMPLES:").first ?? ""
            for line in prose.split(separator: "\n") where line.hasSuffix("\\") && !line.hasPrefix("  ") {
                Issue.record("\(page): a prose line ends in a literal backslash: '\(line)'")
            }
            let path = (manDirectory as NSString).appendingPathComponent(page)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                Issue.record("Man/\(page) is missing: run scripts/generate-man.sh")
                continue
            }
            #expect(text.contains(command.abstract), "Man/\(page) is stale (abstract): run scripts/generate-man.sh")
            // Every line of the discussion, as generate-manual renders it (a trailing backslash becomes "\e").
            for line in command.discussion.split(separator: "\n") {
                let rendered = line.hasSuffix("\\") ? line.dropLast() + "\\e" : line
                guard !rendered.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                #expect(text.contains(rendered), "Man/\(page) is stale at '\(line)': run scripts/generate-man.sh")
            }
            for option in command.options {
                #expect(text.contains("-\(option.name)") || text.contains("Ar \(option.name)"),
                        "Man/\(page) lacks \(option.name): run scripts/generate-man.sh")
                #expect(text.contains(option.help), "Man/\(page) is stale for \(option.name)")
            }
        }
        let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: manDirectory).filter { $0.hasSuffix(".1") })
        #expect(onDisk == expectedPages, "Man/ has pages for commands that no longer exist, or lacks some")
    }

    @Test("README opens with the two commands a new user runs, and names every command group")
    func readme() throws {
        let path = (TrustGateBinary.packageRoot as NSString).appendingPathComponent("README.md")
        let readme = try String(contentsOfFile: path, encoding: .utf8)
        let commands = readme.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        let first = try #require(commands.first)
        #expect(first.contains("swift run trustgate"), "the first command runs the main job")
        #expect(first.contains("swift test") || commands.dropFirst().first?.contains("swift test") == true,
                "the second command runs the tests")
        for command in try Self.commands() where command.path.count == 3 {
            #expect(readme.contains(command.path.dropFirst().joined(separator: " ")),
                    "README mentions `\(command.path.joined(separator: " "))`")
        }
    }
}

@Suite("trustgate gateway check-config")
struct CheckConfigCommandTests {
    @Test("The shipped example is valid; a broken copy exits 65 with one line per problem; a missing file 66")
    func checkConfig() async throws {
        try await withTemporaryDirectory { dir in
            let example = (TrustGateBinary.packageRoot as NSString).appendingPathComponent("Examples/gateway.yaml")
            let text = try String(contentsOfFile: example, encoding: .utf8)
            try dir.write("gateway.yaml", text: text)
            try #require(try TrustGateBinary.run(["cert", "testpki", "testpki"], in: dir.path).status == 0)
            let ok = try TrustGateBinary.run(["gateway", "check-config", "gateway.yaml"], in: dir.path)
            #expect(ok.status == 0 && ok.stdout.contains("ok: gateway contoso"), "\(ok)")
            try dir.write("broken.yaml", text: text.replacingOccurrences(of: "port: 8443", with: "port: http")
                .replacingOccurrences(of: "pool: app\n", with: "pool: apps\n"))
            let broken = try TrustGateBinary.run(["gateway", "check-config", "broken.yaml"], in: dir.path)
            #expect(broken.status == 65, "\(broken)")
            let lines = broken.stderr.split(separator: "\n")
            #expect(lines.count == 2, "\(broken.stderr)")
            #expect(lines.allSatisfy { $0.hasPrefix("trustgate: error: invalid configuration (broken.yaml:") })
            #expect(broken.stderr.contains("listeners[0].port") && broken.stderr.contains("pool 'apps' is not defined"))
            let missing = try TrustGateBinary.run(["gateway", "check-config", "nope.yaml"], in: dir.path)
            #expect(missing.status == 66)
        }
    }
}
