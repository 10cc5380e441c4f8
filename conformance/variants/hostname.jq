.hostname = "conformance-host" | .domainname = "example.test"
