module github.com/openjobrouter/jobrouter

go 1.26

require (
	github.com/benbjohnson/clock v1.3.5
	github.com/expr-lang/expr v1.17.8
	github.com/google/btree v1.1.3
	github.com/google/uuid v1.6.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
