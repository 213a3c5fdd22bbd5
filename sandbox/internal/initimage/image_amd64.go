package initimage

import _ "embed"

//go:embed linux_amd64.gz
var compressed []byte
