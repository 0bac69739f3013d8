// FpgadextInstaller: activates or deactivates the fpgadext dext embedded in this app
// (Contents/Library/SystemExtensions/org.fpgadext.driver.dext). Run from a terminal:
//
//   /Applications/FpgadextInstaller.app/Contents/MacOS/FpgadextInstaller activate
//   /Applications/FpgadextInstaller.app/Contents/MacOS/FpgadextInstaller deactivate
//
// The app must sit in /Applications (unless `systemextensionsctl developer on`). The first
// activation asks the user to allow the extension in System Settings > Privacy & Security
// (macOS 15: General > Login Items & Extensions > Driver Extensions); the request finishes once
// they do. Exit status: 0 done, 1 usage, 2 failed, 3 done but a reboot is needed.
//
// NOT VERIFIED: written without a Mac (see docs/macos.md).
import Foundation
import SystemExtensions

let dextIdentifier = "org.fpgadext.driver"

final class RequestDelegate: NSObject, OSSystemExtensionRequestDelegate {
  func request(
    _ request: OSSystemExtensionRequest,
    actionForReplacingExtension existing: OSSystemExtensionProperties,
    withExtension ext: OSSystemExtensionProperties
  ) -> OSSystemExtensionRequest.ReplacementAction {
    print(
      "replacing version \(existing.bundleShortVersion) (\(existing.bundleVersion)) "
        + "with \(ext.bundleShortVersion) (\(ext.bundleVersion))")
    return .replace
  }

  func requestNeedsUserApproval(_ request: OSSystemExtensionRequest) {
    print(
      "waiting for approval: allow the fpgadext driver in System Settings > Privacy & Security")
  }

  func request(
    _ request: OSSystemExtensionRequest, didFinishWithResult result: OSSystemExtensionRequest.Result
  ) {
    switch result {
    case .completed:
      print("done")
      exit(0)
    case .willCompleteAfterReboot:
      print("done; takes effect after a reboot")
      exit(3)
    @unknown default:
      print("finished with result \(result.rawValue)")
      exit(0)
    }
  }

  func request(_ request: OSSystemExtensionRequest, didFailWithError error: Error) {
    let nsError = error as NSError
    print("failed: \(nsError.localizedDescription) (OSSystemExtensionError \(nsError.code))")
    exit(2)
  }
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 1, let verb = arguments.first, verb == "activate" || verb == "deactivate"
else {
  print("usage: FpgadextInstaller activate|deactivate")
  exit(1)
}

let delegate = RequestDelegate()
let request =
  verb == "activate"
  ? OSSystemExtensionRequest.activationRequest(
    forExtensionWithIdentifier: dextIdentifier, queue: .main)
  : OSSystemExtensionRequest.deactivationRequest(
    forExtensionWithIdentifier: dextIdentifier, queue: .main)
request.delegate = delegate
OSSystemExtensionManager.shared.submitRequest(request)
print("\(verb) request for \(dextIdentifier) submitted")
dispatchMain()
