// Data-plane roles of the app's identity (the Functions host and the Python code share it), each at
// the narrowest scope Azure accepts for what the code does. Role IDs: built-in roles,
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles

param storageAccountName string
param keyVaultName string
param applicationInsightsName string

@description('Principal ID of the app\'s user-assigned identity.')
param appPrincipalId string

@description('Every queue of the contract (inputs, outputs, -poison).')
param queueNames array

@description('Deployer or operator who puts bc-client-secret into the vault; empty: none.')
param operatorPrincipalId string
param operatorPrincipalType string

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource account 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' existing = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' existing = [for queueName in queueNames: {
  parent: queueService
  name: queueName
}]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Blob, account scope. The Functions host keeps its keys and timer locks in blobs and creates its
// own containers (azure-webjobs-hosts, azure-webjobs-secrets), which needs Storage Blob Data Owner on
// the account (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity).
// The same role lets Flex read the deployment package and the app read and delete bc-payloads blobs.
resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Queues, one assignment per queue of the contract (queue scope is the narrowest Azure offers).
// Contributor, not Reader + Message Processor: the trigger reads and deletes messages, the host moves
// a message that failed maxDequeueCount times to <queue>-poison (adds it, creating the queue if
// needed), the code sends outcomes, expenses and notifications and replays parked or failed messages
// onto the input queues, and checks that each queue exists before its first send (create, 409 if it does).
resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (queueName, i) in queueNames: {
  name: guid(queues[i].id, appPrincipalId, roles.storageQueueDataContributor)
  scope: queues[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

// Tables, account scope. The code creates each table on first use (Create Table is a request to the
// account's Tables collection, not to the table's own path) and then reads, inserts, updates
// (with ETags) and deletes rows; the Functions host also writes its diagnostic-event tables, whose
// names change monthly. The account belongs to this app alone.
resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, roles.storageTableDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault Secrets Officer, vault scope. The code gets secrets (getSecret), sets them
// (setSecret: connector client secrets, rotated refresh tokens), deletes them when a connector is
// deleted (delete) and recovers a soft-deleted name that is used again (recover). Key Vault Secrets
// User allows only get and list, so Officer is the narrowest built-in role that covers all four.
// With purge protection on, its purge right cannot shorten the retention period.
// https://learn.microsoft.com/azure/key-vault/general/rbac-guide
resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Application Insights with local auth off accepts telemetry only from identities with this role.
// https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The operator puts bc-client-secret into the vault and rotates it (docs/deploy.md, step 6).
resource operatorSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}
