package tools

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/mcp-kubernetes/internal/kube"
)

// TestRedteam6TemplateCostInEverySpelling: a Go template that copies the
// answer costs more memory a byte whatever way the command line gives
// it (-o, -o=, --output=, -oX, --template alone, -o go-template with
// --template, template as the format's other name, other commands that
// print templates), so no spelling runs a copying template at the plain
// AnswerCost. A format that ignores --template (-o name) costs the plain
// one; whole documents, JSONPath actions and custom columns cost more
// (the lead's costs per format, after the red team's measurements).
func TestRedteam6TemplateCostInEverySpelling(t *testing.T) {
	two := int64(kube.DocumentCost + 2*kube.TemplateCopyCost)
	for _, c := range []struct {
		words []string
		cost  int64
	}{
		{[]string{"get", "cm", "-o", "go-template={{print . .}}"}, two},
		{[]string{"get", "cm", "-o=go-template={{print . .}}"}, two},
		{[]string{"get", "cm", "--output=go-template={{print . .}}"}, two},
		{[]string{"get", "cm", "--output", "template={{print . .}}"}, two},
		{[]string{"get", "cm", "-ogo-template={{print . .}}"}, two},
		{[]string{"get", "cm", "--template={{print . .}}"}, two},
		{[]string{"get", "cm", "--template", "{{print . .}}"}, two},
		{[]string{"get", "cm", "-o", "go-template", "--template={{print . .}}"}, two},
		{[]string{"get", "cm", "-o", "template", "--template={{print . .}}"}, two},
		{[]string{"get", "cm", "-o", "go-template={{range .items}}{{print .data}}{{end}}"}, kube.DocumentCost + kube.TemplateCopyCost},
		{[]string{"get", "cm", "-o", "go-template={{range .items}}{{.data | print}}{{end}}"}, kube.DocumentCost + kube.TemplateCopyCost},
		{[]string{"get", "cm", "-o", "go-template={{$x := .items}}{{printf \"%v%v\" $x .}}"}, two},
		{[]string{"events", "-o", "go-template={{print . .}}"}, two},
		{[]string{"rollout", "history", "deploy/web", "-o", "go-template={{print . .}}"}, two},
		{[]string{"get", "cm", "-o", "go-template={{.items}}"}, kube.DocumentCost},
		{[]string{"get", "cm", "-o", "name", "--template={{print . .}}"}, kube.AnswerCost},
		{[]string{"get", "cm", "-o", "jsonpath={.items}"}, kube.DocumentCost + kube.JSONPathActionCost},
		{[]string{"get", "cm", "-o", "jsonpath={.items[0]}{.items[1]}{.items[2]}"}, kube.DocumentCost + 3*kube.JSONPathActionCost},
		{[]string{"get", "cm", "-o", "custom-columns=A:.data.v,B:.data.v"}, kube.DocumentCost + 2*kube.ColumnCost},
		{[]string{"get", "cm", "-o", "json"}, kube.DocumentCost},
		{[]string{"get", "cm", "-o", "yaml"}, kube.DocumentCost},
		{[]string{"get", "cm", "-o", "wide"}, kube.AnswerCost},
		{[]string{"get", "cm"}, kube.AnswerCost},
	} {
		_, flags, err := checkKubectl(c.words)
		require.NoError(t, err, "%q", c.words)
		assert.Equal(t, c.cost, answerCost(flags), "%q", c.words)
	}
}
