package vuln

// WriteZip is writeZip for the package's external tests.
var WriteZip = writeZip
