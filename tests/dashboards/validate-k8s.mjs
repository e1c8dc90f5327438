// Validates a PrometheusRule (JSON on stdin, e.g. `yq . deploy/kubernetes/prometheusrule.yaml`)
// offline against the prometheus-operator CRD schema shipped by
// @kubernetes-models/prometheus-operator. Used by tests/rules/check_prometheusrule.sh.
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';

let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const obj = JSON.parse(input);
  try {
    new PrometheusRule(obj).validate();
  } catch (e) {
    console.error(`PrometheusRule invalid: ${e.message}`);
    process.exit(1);
  }
  const rules = obj.spec.groups.reduce((n, g) => n + g.rules.length, 0);
  console.log(`PrometheusRule ${obj.metadata.name}: valid against the CRD schema (${obj.spec.groups.length} groups, ${rules} rules)`);
});
