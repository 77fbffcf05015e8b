import TrustGatePKI

/// Reports the files a command wrote: one line each, or JSON.
enum WrittenFiles {
    struct Report: Encodable {
        struct File: Encodable {
            var path: String
            var contents: String
            var mode: String
        }
        var files: [File]
        var certificate: CertificateSummary?
    }

    static func report(_ entries: [OutputFiles.Entry], certificate: ParsedCertificate? = nil, json: Bool)
        throws(CLIError)
    {
        if json {
            let files = entries.map { Report.File(path: $0.path, contents: $0.label, mode: $0.isSecret ? "0600" : "0644") }
            let summary = certificate.map { CertificateSummary($0, role: ChainAnalysis.roles(of: [$0])[0]) }
            try JSONOutput.print(Report(files: files, certificate: summary))
            return
        }
        for entry in entries {
            print("wrote \(entry.path) (\(entry.label)\(entry.isSecret ? ", mode 0600" : ""))")
        }
        if let certificate {
            print("subject \(certificate.subject), expires \(RFC3339.format(certificate.notAfter))")
            print("sha256 \(certificate.sha256.colonHexString)")
        }
    }
}
