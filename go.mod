module github.com/pam-duo-go/pam_duo_go

go 1.26.0

require (
	github.com/msteinert/pam/v2 v2.1.0
	github.com/stretchr/testify v1.12.1
	golang.org/x/sys v0.49.0
	gopkg.in/ini.v1 v1.67.3
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
