// OpenAI billing as code: spend limits and alerts, project cost controls (Admin API), payment methods, auto-reload and prepaid credits (billing extension).
package openaibilling
