-- Argo CD health check for mcp.coviu.dev/CoviuMCPServer (docs/operator.md, "GitOps").
-- Install as resource.customizations.health.mcp.coviu.dev_CoviuMCPServer in argocd-cm.
-- Stalled: Degraded. Expired: Healthy (the record of a server that ended as its spec asked).
-- Ready: Healthy. Anything else, or a status older than the spec: Progressing.
local health = {status = "Progressing", message = "waiting for the operator"}
if obj.status == nil or obj.status.conditions == nil then
  return health
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= obj.metadata.generation then
  health.message = "waiting for the operator to observe generation " .. obj.metadata.generation
  return health
end
local found = {}
for _, condition in ipairs(obj.status.conditions) do
  found[condition.type] = condition
end
local function holds(kind)
  return found[kind] ~= nil and found[kind].status == "True"
end
if holds("Stalled") then
  health.status, health.message = "Degraded", found.Stalled.message
elseif holds("Expired") then
  health.status, health.message = "Healthy", found.Expired.message
elseif holds("Ready") then
  health.status, health.message = "Healthy", found.Ready.message
elseif found.Ready ~= nil then
  health.message = found.Ready.message
end
return health
