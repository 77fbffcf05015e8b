import Foundation

/// Writes errors to standard error in the one format of the SPEC.
enum ErrorReporter {
    static func report(_ error: CLIError) {
        var text = "trustgate: error: \(error.description)\n"
        if let hint = error.hint { text += "hint: \(hint)\n" }
        writeStandardError(text)
    }

    /// A command-line parse error from ArgumentParser: its message, and its "See '… --help'" line as the hint.
    static func reportUsage(message: String, full: String) {
        let firstLine = message.split(separator: "\n").first.map(String.init) ?? message
        var text = "trustgate: error: invalid usage: \(firstLine.replacingOccurrences(of: "Error: ", with: ""))\n"
        if let see = full.split(separator: "\n").last(where: { $0.contains("See '") }) {
            text += "hint: \(see.trimmingCharacters(in: .whitespaces))\n"
        }
        writeStandardError(text)
    }

    /// A warning that does not stop the command.
    static func warn(_ message: String) {
        writeStandardError("trustgate: warning: \(message)\n")
    }

    private static func writeStandardError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
