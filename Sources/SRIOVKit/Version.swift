/// The sriovctl release this library belongs to.
public let version = "0.1.0"
