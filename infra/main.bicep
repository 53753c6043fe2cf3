// bc-connector: everything the Functions app needs, in one resource group, reached by identity only.
//
// Scope: resource group, so the same template serves `azd up` (AZURE_RESOURCE_GROUP set) and
// `az deployment group create` (docs/deploy.md). Layout as in Microsoft's azd Functions templates:
// this file wires modules; infra/app/*.bicep hold the resources and the role assignments next to them.
//
// Nothing here writes a secret: the operator puts `bc-client-secret` into Key Vault (docs/deploy.md).
targetScope = 'resourceGroup'

// ------------------------------------------------------------------------------------------------
// Parameters
// ------------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(40)
@description('Name of the environment (azd: AZURE_ENV_NAME); part of every resource name.')
param environmentName string

@minLength(1)
@description('Azure region of every resource. Flex Consumption must be offered there (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Application (client) ID of the multi-tenant Entra app registration the connectors sign in with (app setting BC_CLIENT_ID). Its secret goes to Key Vault as bc-client-secret, never here.')
param bcClientId string

@description('Business Central API base URL (app setting BC_API_URL). Microsoft public cloud by default.')
param bcApiUrl string = 'https://api.businesscentral.dynamics.com'

@description('Entra ID authority host (app setting BC_AUTHORITY_HOST). Microsoft public cloud by default.')
param bcAuthorityHost string = 'https://login.microsoftonline.com'

@description('Public base URL of the app (app setting PUBLIC_BASE_URL; the consent redirect URI is {PUBLIC_BASE_URL}/api/consent/callback). Empty: https://<function app name>.azurewebsites.net. Set it only for a custom domain.')
param publicBaseUrl string = ''

@description('NCRONTAB (6 fields, seconds first, UTC) of the expense import timer. Required by the Functions host: a %SETTING% schedule has no default.')
param expenseImportSchedule string = '0 */15 * * * *'

@description('NCRONTAB (UTC) of the token keep-alive timer. Required by the Functions host: a %SETTING% schedule has no default.')
param tokenKeepaliveSchedule string = '0 0 3 * * *'

// Business Central allows 5 concurrent requests and 6,000 requests per 5-minute window per BC user
// (the app's user in a customer's tenant, or the consenting user). Every BC request of every instance
// takes a permit of its BC user's budget (table BcBudgets, shared/adapters/bc_budget.py), so more
// instances cannot exceed BC's limits: a user whose budget is used up gets its messages put back on the
// queue with a visibility delay, and other connectors keep flowing. Instances therefore add throughput
// only across BC users: one user tops out at 1,200 requests per minute however many instances run.
// 4 instances x 5 messages per queue covers 4 BC users at full speed; raise it with the number of
// busy BC users. See https://learn.microsoft.com/dynamics365/business-central/dev-itpro/administration/operational-limits-online
@minValue(1)
@maxValue(1000)
@description('Flex Consumption maximumInstanceCount. BC requests share one budget per BC user across instances (see the comment above).')
param maximumInstanceCount int = 4

// HTTP requests (connector saves, lookups, run-now imports) each make several BC calls; 5 requests in
// flight per instance matches BC's 5 concurrent requests per user.
@minValue(1)
@maxValue(1000)
@description('Flex Consumption HTTP perInstanceConcurrency.')
param httpPerInstanceConcurrency int = 5

@allowed([512, 2048, 4096])
@description('Flex Consumption instance memory (MB). 2048 = 1 vCPU, the Flex default.')
param instanceMemoryMB int = 2048

@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
@description('Storage replication. The account holds the ledger (idempotency), connectors and queues: zone-redundant by default.')
param storageSku string = 'Standard_ZRS'

@description('Object ID of the person or pipeline that runs the deployment (azd: AZURE_PRINCIPAL_ID). Gets Key Vault Secrets Officer to put bc-client-secret into the vault. Empty: no assignment.')
param operatorPrincipalId string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
@description('Kind of operatorPrincipalId.')
param operatorPrincipalType string = 'User'

@description('Create a user-assigned identity for the host application (the PSA/billing app that sends to the input queues and reads the output queues).')
param createHostIdentity bool = false

@description('Object (principal) ID of an existing identity of the host application, e.g. its own managed identity or service principal. Gets the same narrow queue rights. Empty: none.')
param hostPrincipalId string = ''

@description('E-mail address that receives the alerts. Empty: the alert rules exist (visible in the portal) but notify nobody.')
param alertEmail string = ''

@description('Tags on every resource.')
param tags object = {}

// ------------------------------------------------------------------------------------------------
// Names and the storage contract (the queues and tables the code uses: shared/bootstrap.py)
// ------------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))
var allTags = union(tags, { 'azd-env-name': environmentName, application: 'bc-connector' })

var functionAppName = 'func-bc-${resourceToken}'
var storageAccountName = 'stbc${resourceToken}'
var keyVaultName = 'kv-bc-${resourceToken}'
var appIdentityName = 'id-bc-app-${resourceToken}'
var hostIdentityName = 'id-bc-host-${resourceToken}'

// Queues the host application sends to (the app's queue triggers read them).
var inputQueues = [
  'bc-customers'
  'bc-projects'
  'bc-products'
  'bc-invoices'
]
// Queues the app sends to and the host application reads.
var outputQueues = [
  'bc-outcomes'
  'bc-expenses'
  'bc-notifications'
]
// Where the Functions host moves a message after maxDequeueCount failed attempts (host.json); the
// app's poison triggers read them.
var poisonQueues = [
  'bc-customers-poison'
  'bc-projects-poison'
  'bc-products-poison'
  'bc-invoices-poison'
]
// The app's own work queue: webhook notifications ask for expense import runs here (the host never sees it).
var internalQueues = [
  'bc-import-requests'
]
var tableNames = [
  'Connectors'
  'SyncLedger'
  'ConsentStates'
  'ImportCursors'
  'Parked'
  'Locks'
  'ConnectorActivity'
  'TokenVersions'
  'WebhookSubscriptions'
  'ImportRequests'
  'BcBudgets'
]
// Large invoices travel by claim check: the host application writes the payload here and sends its
// name on bc-invoices; the app reads and deletes it.
var payloadContainerName = 'bc-payloads'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'

var effectivePublicBaseUrl = empty(publicBaseUrl) ? 'https://${functionAppName}.azurewebsites.net' : publicBaseUrl

// ------------------------------------------------------------------------------------------------
// Resources
// ------------------------------------------------------------------------------------------------

// The app's only identity: storage (host and code), Key Vault, Application Insights.
resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: appIdentityName
  location: location
  tags: allTags
}

resource hostIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = if (createHostIdentity) {
  name: hostIdentityName
  location: location
  tags: allTags
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: allTags
    skuName: storageSku
    queueNames: concat(inputQueues, outputQueues, poisonQueues, internalQueues)
    tableNames: tableNames
    containerNames: [
      deploymentContainerName
      payloadContainerName
    ]
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: allTags
    logAnalyticsName: 'log-bc-${resourceToken}'
    applicationInsightsName: 'appi-bc-${resourceToken}'
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: keyVaultName
    location: location
    tags: allTags
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  params: {
    name: functionAppName
    planName: 'plan-bc-${resourceToken}'
    location: location
    tags: allTags
    identityId: appIdentity.id
    identityClientId: appIdentity.properties.clientId
    storageAccountName: storage.outputs.name
    deploymentStorageContainerUrl: '${storage.outputs.blobEndpoint}${deploymentContainerName}'
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    keyVaultUrl: keyVault.outputs.uri
    bcClientId: bcClientId
    bcApiUrl: bcApiUrl
    bcAuthorityHost: bcAuthorityHost
    publicBaseUrl: effectivePublicBaseUrl
    expenseImportSchedule: expenseImportSchedule
    tokenKeepaliveSchedule: tokenKeepaliveSchedule
    maximumInstanceCount: maximumInstanceCount
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    instanceMemoryMB: instanceMemoryMB
  }
}

module appAccess 'app/rbac.bicep' = {
  name: 'app-access'
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appPrincipalId: appIdentity.properties.principalId
    queueNames: concat(inputQueues, outputQueues, poisonQueues, internalQueues)
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
  }
}

// The host application's identity: send on the input queues, receive on the output queues, write
// bc-payloads. A created identity, an existing principal, or both.
module hostAccessCreated 'app/host-access.bicep' = if (createHostIdentity) {
  name: 'host-access-created'
  params: {
    principalId: createHostIdentity ? hostIdentity.properties.principalId : ''
    storageAccountName: storage.outputs.name
    inputQueueNames: inputQueues
    outputQueueNames: outputQueues
    payloadContainerName: payloadContainerName
  }
}

module hostAccessExisting 'app/host-access.bicep' = if (!empty(hostPrincipalId)) {
  name: 'host-access-existing'
  params: {
    principalId: hostPrincipalId
    storageAccountName: storage.outputs.name
    inputQueueNames: inputQueues
    outputQueueNames: outputQueues
    payloadContainerName: payloadContainerName
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    tags: allTags
    namePrefix: 'bc-${resourceToken}'
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    alertEmail: alertEmail
  }
}

// ------------------------------------------------------------------------------------------------
// Outputs (azd stores them in .azure/<env>/.env; docs/deploy.md uses them)
// ------------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output PUBLIC_BASE_URL string = effectivePublicBaseUrl
output CONSENT_REDIRECT_URI string = '${effectivePublicBaseUrl}/api/consent/callback'
output FUNCTION_APP_DEFAULT_HOSTNAME string = api.outputs.defaultHostName
output KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URL string = keyVault.outputs.uri
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APP_IDENTITY_CLIENT_ID string = appIdentity.properties.clientId
output HOST_IDENTITY_CLIENT_ID string = createHostIdentity ? hostIdentity.properties.clientId : ''
output HOST_IDENTITY_RESOURCE_ID string = createHostIdentity ? hostIdentity.id : ''
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
