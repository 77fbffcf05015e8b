import Foundation
import TrustGateCLI

exit(await TrustGate.execute())
