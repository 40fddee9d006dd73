package blob

// FileName exposes the on-disk layout to the external tests, which tamper
// with and copy files directly.
var FileName = fileName
