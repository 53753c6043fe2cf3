// What the host application (the PSA/billing app) may do in the app's storage account, and nothing
// more: add messages to the input queues, receive (read + delete) messages of the output queues, and
// write claim-check payloads into bc-payloads. Never the account key: shared-key access is off.
// Deployed once per host identity (a created one and/or an existing principal, main.bicep).

@description('Object (principal) ID of the host application\'s identity.')
param principalId string

param storageAccountName string

@description('bc-customers, bc-projects, bc-products, bc-invoices.')
param inputQueueNames array

@description('bc-outcomes, bc-expenses, bc-notifications.')
param outputQueueNames array

param payloadContainerName string

var roles = {
  // messages/add/action only
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  // messages/read (peek) and messages/process/action (get + delete)
  storageQueueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed'
  // read, write and delete blobs of the container (no narrower built-in role can write)
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
}

resource account 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' existing = {
  parent: account
  name: 'default'
}

resource inputQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' existing = [for queueName in inputQueueNames: {
  parent: queueService
  name: queueName
}]

resource outputQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' existing = [for queueName in outputQueueNames: {
  parent: queueService
  name: queueName
}]

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' existing = {
  parent: account
  name: 'default'
}

resource payloads 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = {
  parent: blobService
  name: payloadContainerName
}

resource send 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (queueName, i) in inputQueueNames: {
  name: guid(inputQueues[i].id, principalId, roles.storageQueueDataMessageSender)
  scope: inputQueues[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

resource receive 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (queueName, i) in outputQueueNames: {
  name: guid(outputQueues[i].id, principalId, roles.storageQueueDataMessageProcessor)
  scope: outputQueues[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageProcessor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

resource writePayloads 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(payloads.id, principalId, roles.storageBlobDataContributor)
  scope: payloads
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
