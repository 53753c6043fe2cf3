// The Function App on the Flex Consumption plan (FC1), Python 3.11, with the app's user-assigned identity.
// https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan
//
// App settings live in siteConfig.appSettings: ARM replaces the whole collection on every deployment,
// so this list is every setting the app has in Azure (tests/infra checks it against the code).
// Not set, on purpose:
// - FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION: Flex takes the runtime from
//   functionAppConfig.runtime and rejects the former
//   (https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations).
// - AzureWebJobsFeatureFlags=EnableWorkerIndexing: the default of the host since 4.28.
// - REQUESTS_CA_BUNDLE: only for the local BC sandbox's self-signed certificate.
// - WEBSITE_TIME_ZONE: not supported on Flex; the timer schedules are UTC.

param name string
param planName string
param location string
param tags object

@description('Resource ID of the app\'s user-assigned identity.')
param identityId string

@description('Client ID of that identity (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId).')
param identityClientId string

param storageAccountName string
param deploymentStorageContainerUrl string
param applicationInsightsConnectionString string
param keyVaultUrl string
param bcClientId string
param bcApiUrl string
param bcAuthorityHost string
param publicBaseUrl string
param expenseImportSchedule string
param tokenKeepaliveSchedule string
param maximumInstanceCount int
param httpPerInstanceConcurrency int
param instanceMemoryMB int

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd deploys the service `api` of azure.yaml to the site with this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentStorageContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        // See main.bicep, parameter maximumInstanceCount: every instance takes its BC requests from one
        // budget per BC user (table BcBudgets), so more instances are safe; they add throughput across
        // BC users, up to 1,200 requests per minute per user.
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      remoteDebuggingEnabled: false
      appSettings: [
        // Host storage and the app's tables/queues, by identity (shared key is off on the account).
        // https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storageAccountName
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        // DefaultAzureCredential (Key Vault) picks the user-assigned identity by this client ID. The
        // app has one identity, so the host using it for every connection is what we want.
        {
          name: 'AZURE_CLIENT_ID'
          value: identityClientId
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: applicationInsightsConnectionString
        }
        // Entra-authenticated ingestion (local auth is off on the Application Insights resource). The host
        // and the worker's Azure Monitor exporter both read it (the exporter makes a
        // ManagedIdentityCredential for this client id).
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identityClientId};Authorization=AAD'
        }
        // The Python worker sends its logs itself, through OpenTelemetry (host.json telemetryMode), so the
        // structured fields of shared/logfields.py land in customDimensions; the host's own forwarding drops
        // them. https://learn.microsoft.com/azure/azure-functions/opentelemetry-howto
        {
          name: 'PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY'
          value: 'true'
        }
        // Never Development: Development would allow the unencrypted local secret store.
        {
          name: 'AZURE_FUNCTIONS_ENVIRONMENT'
          value: 'Production'
        }
        {
          name: 'KEY_VAULT_URL'
          value: keyVaultUrl
        }
        {
          name: 'BC_CLIENT_ID'
          value: bcClientId
        }
        {
          name: 'BC_API_URL'
          value: bcApiUrl
        }
        {
          name: 'BC_AUTHORITY_HOST'
          value: bcAuthorityHost
        }
        {
          name: 'PUBLIC_BASE_URL'
          value: publicBaseUrl
        }
        // Timer schedules: %SETTING% expressions have no default; the host does not start without them.
        {
          name: 'EXPENSE_IMPORT_SCHEDULE'
          value: expenseImportSchedule
        }
        {
          name: 'TOKEN_KEEPALIVE_SCHEDULE'
          value: tokenKeepaliveSchedule
        }
        // One BC request budget per BC user across every instance: BC Online's published limits.
        {
          name: 'BC_MAX_CONCURRENT_REQUESTS'
          value: '5'
        }
        {
          name: 'BC_REQUESTS_PER_WINDOW'
          value: '6000'
        }
        {
          name: 'BC_RATE_WINDOW_SECONDS'
          value: '300'
        }
      ]
    }
  }
}

output name string = functionApp.name
output id string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
