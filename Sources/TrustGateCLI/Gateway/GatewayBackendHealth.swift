import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGateGateway
import TrustGatePKI

extension GatewayCommand {
    struct BackendHealthCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backend-health",
            abstract: "Probe every backend as the gateway would, and show its health with the reason.",
            discussion: """
                Every member of every pool a rule routes to is probed under each backend setting a rule pairs \
                with that pool, through the gateway's own upstream path: the same SNI and expected name, trust \
                mode and allow-list evaluator as live traffic, then GET --path (accepted: 200-399). Each row \
                shows Healthy, Unhealthy or Unknown (no rule routes to the pool), the reason category (ok, the \
                categories of allowlist check, unexpected-status or unexpected-body), and a detail; a rejected backend's \
                presented certificates (SHA-256, SANs, notAfter), the expected name and the nearest allow-list \
                entry follow. A backend certificate that expires within --warn-days gets a WARNING line. Exit 0 \
                when every probed member is healthy, 1 when one is not.

                --json prints one object per row, with the keys pool, member, settings, expectedName, state, \
                category, detail, httpStatus, presented (each certificate as cert inspect --json describes it), \
                daysUntilExpiry, expiryWarning and nearestEntry; keys are added, never renamed.

                EXAMPLES:
                  trustgate gateway backend-health --config gateway.yaml
                  trustgate gateway backend-health --config gateway.yaml --json --warn-days 14
                """
        )

        @Option(help: "The configuration file (YAML).")
        var config: String

        @Option(help: "Warn when a backend certificate expires within this many days.")
        var warnDays: Int = 30

        @Option(help: "The path each probe requests (default: the backend settings' probe path, else /).")
        var path: String?

        @Option(
            help: "Seconds each whole probe may take: connect, handshake and response (default: the probe's timeout, at most 10).",
            transform: Seconds.parse
        )
        var timeout: TimeInterval?

        @OptionGroup var output: JSONOptions

        func validate() throws {
            guard warnDays >= 0 else { throw ValidationError("--warn-days must be 0 or more") }
            guard path.map({ $0.hasPrefix("/") && !$0.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) }) ?? true else {
                throw ValidationError("--path must start with / and hold no spaces or control characters")
            }
        }

        func run() async throws {
            let configuration = try GatewayCommand.loadConfiguration(config)
            let state = try GatewayCommand.allowListState(for: configuration, store: GatewayCommand.openStore(configuration.store))
            let report: [BackendHealth]
            do {
                report = try await BackendProbe.probeAll(
                    configuration, state: state, path: path, timeout: timeout, warningDays: warnDays
                ).map(\.health)
            } catch {
                throw CLIError(what: "cannot probe the backends", file: config, why: "\(error)", status: .software)
            }
            if output.json {
                try JSONOutput.print(report)
            } else {
                HealthTable.print(report, warningDays: warnDays)
            }
            if report.contains(where: { $0.state == .unhealthy }) {
                throw ExitCode(CLIError.ExitStatus.rejected.rawValue)
            }
        }
    }

    static func openStore(_ location: String?) throws(CLIError) -> any AllowListStore {
        do {
            return try StoreLocation.open(location)
        } catch {
            throw CLIError(error, what: "cannot open the allow-list store")
        }
    }

    /// The allow-list the configuration's gateway enforces, from `store`.
    static func allowListState(for configuration: GatewayConfiguration, store: any AllowListStore) throws(CLIError)
        -> AllowListState
    {
        do {
            return try AllowListState.load(gateway: configuration.gateway, from: store)
        } catch {
            throw CLIError(error, what: "cannot read the allow-list")
        }
    }
}

/// The text form of a backend health report.
enum HealthTable {
    static func print(_ report: [BackendHealth], warningDays: Int) {
        let header = ["POOL", "MEMBER", "SETTINGS", "STATE", "CATEGORY", "EXPIRES", "DETAIL"]
        let rows = report.map { health in
            [
                health.pool, health.member, health.settings ?? "-", health.state.rawValue, health.category.rawValue,
                health.daysUntilExpiry.map { $0 < 0 ? "\(-$0)d ago" : "in \($0)d" } ?? "-", health.detail,
            ]
        }
        let widths = (0..<header.count - 1).map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for (index, row) in ([header] + rows).enumerated() {
            let cells = row.enumerated().map { column, cell in
                column < widths.count ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0) : cell
            }
            Swift.print(cells.joined(separator: "  "))
            guard index > 0 else { continue }
            let health = report[index - 1]
            if health.state == .unhealthy, !health.presented.isEmpty {
                for certificate in health.presented {
                    Swift.print("    presented: \(certificate.subject) sha256 \(certificate.sha256) SANs "
                        + "\(certificate.subjectAltNames.isEmpty ? "-" : certificate.subjectAltNames.joined(separator: ",")) "
                        + "notAfter \(certificate.notAfter)")
                }
                Swift.print("    expected name: \(health.expectedName ?? "-")")
                if let nearest = health.nearestEntry { Swift.print("    nearest allow-list entry: \(nearest)") }
            }
        }
        for health in report where health.expiryWarning {
            let days = health.daysUntilExpiry ?? 0
            let when = days < 0 ? "expired \(-days) days ago" : "expires in \(days) day\(days == 1 ? "" : "s")"
            Swift.print("WARNING \(health.pool) \(health.member): the backend certificate \(when) "
                + "(notAfter \(health.presented.first?.notAfter ?? "?"); threshold \(warningDays) days)")
        }
    }
}
