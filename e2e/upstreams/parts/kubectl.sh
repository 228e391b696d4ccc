# kubectl of the harness API server's version (v1.36.3), for the parity
# suite (e2e/kubernetes/parity_test.go): built from the same wrapper module
# as kube-apiserver, so both come from one k8s.io/kubernetes. ~3 min cold.
case " $want " in
*" kubectl "*|*" all "*)
  kv=v1.36.3
  build kubectl $kv kubernetes k8s.io/kubernetes/cmd/kubectl -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$kv -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36"
  ;;
esac
