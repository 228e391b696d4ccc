module github.com/opsmcp/opsmcp/e2e

go 1.26.0
