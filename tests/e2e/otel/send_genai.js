// Emits GenAI spans and metrics with the real OpenTelemetry JS SDK and exports
// them over OTLP/gRPC to agentwatch's monitor.
//
//   node send_genai.js ENDPOINT TENANT RUNS
//
// Each run is a trace: invoke_workflow "support" > invoke_agent "planner" >
// chat (openai gpt-4o-mini, 1000 input / 200 output tokens) and execute_tool
// "search". One extra chat span fails with error.type rate_limit_exceeded and
// one has no model (agentwatch must reject it: partial success). Metrics: a
// gen_ai.client.token.usage histogram. Prints one JSON line with what it sent.
'use strict';

const api = require('@opentelemetry/api');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-grpc');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { resourceFromAttributes } = require('@opentelemetry/resources');

async function main() {
  const [endpoint, tenant, runsArg] = process.argv.slice(2);
  if (!endpoint || !tenant) {
    console.error('usage: node send_genai.js ENDPOINT TENANT RUNS');
    process.exit(2);
  }
  const runs = Number(runsArg || '3');
  // Partial-success answers are reported through the SDK's diagnostic logger.
  api.diag.setLogger(new api.DiagConsoleLogger(), api.DiagLogLevel.WARN);

  const resource = resourceFromAttributes({
    'service.name': 'support-agents',
    'agentwatch.tenant': tenant,
  });
  const traceExporter = new OTLPTraceExporter({ url: `http://${endpoint}` });
  const tracerProvider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(traceExporter, { maxExportBatchSize: 512 })],
  });
  const tracer = tracerProvider.getTracer('agentwatch-e2e', '1.0.0');

  const metricExporter = new OTLPMetricExporter({ url: `http://${endpoint}` });
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter, exportIntervalMillis: 600000,
  });
  const meterProvider = new MeterProvider({ resource, readers: [reader] });
  const tokenUsage = meterProvider.getMeter('agentwatch-e2e')
    .createHistogram('gen_ai.client.token.usage', { unit: '{token}' });

  const start = Date.now() - 60000;
  const at = (offsetMs) => new Date(start + offsetMs);
  let spans = 0;
  for (let run = 0; run < runs; run++) {
    const base = run * 5000;
    const workflow = tracer.startSpan('invoke_workflow support', {
      startTime: at(base), attributes: { 'gen_ai.operation.name': 'invoke_workflow',
                                         'gen_ai.workflow.name': 'support' } });
    const wctx = api.trace.setSpan(api.context.active(), workflow);
    const agent = tracer.startSpan('invoke_agent planner', {
      startTime: at(base + 100), attributes: { 'gen_ai.operation.name': 'invoke_agent',
                                               'gen_ai.agent.name': 'planner' } }, wctx);
    const actx = api.trace.setSpan(wctx, agent);
    const chat = tracer.startSpan('chat gpt-4o-mini', {
      kind: api.SpanKind.CLIENT, startTime: at(base + 200),
      attributes: {
        'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.response.model': 'gpt-4o-mini',
        'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200,
      } }, actx);
    chat.end(at(base + 1400));
    tokenUsage.record(1000, { 'gen_ai.token.type': 'input', 'gen_ai.request.model': 'gpt-4o-mini' });
    tokenUsage.record(200, { 'gen_ai.token.type': 'output', 'gen_ai.request.model': 'gpt-4o-mini' });
    const tool = tracer.startSpan('execute_tool search', {
      startTime: at(base + 1500), attributes: { 'gen_ai.operation.name': 'execute_tool',
                                                'gen_ai.tool.name': 'search' } }, actx);
    tool.end(at(base + 1750));
    agent.end(at(base + 2000));
    workflow.end(at(base + 2100));
    spans += 4;
  }
  // A throttled call (older gen_ai.system attribute) and one agentwatch must reject.
  const throttled = tracer.startSpan('chat gpt-4o', {
    startTime: at(40000), attributes: {
      'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o', 'error.type': 'rate_limit_exceeded',
      'gen_ai.agent.name': 'planner' } });
  throttled.setStatus({ code: api.SpanStatusCode.ERROR, message: '429' });
  throttled.end(at(40300));
  const modelless = tracer.startSpan('chat ???', {
    startTime: at(41000), attributes: { 'gen_ai.operation.name': 'chat',
                                        'gen_ai.provider.name': 'openai' } });
  modelless.end(at(41100));
  spans += 2;

  await tracerProvider.forceFlush();
  await meterProvider.forceFlush();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  console.log(JSON.stringify({ runs, spans }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
