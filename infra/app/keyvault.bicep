// Key Vault for bc-client-secret and the per-connector secrets (connector-{name}-client-secret,
// connector-{name}-refresh-token). Azure RBAC only (no access policies), soft delete and purge
// protection on: a deleted secret stays recoverable for 90 days and nobody can purge it early.
// https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview

param name string
param location string
param tags object

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    // Flex Consumption without VNet integration reaches the vault over its public endpoint; every
    // request needs an Entra token and a Key Vault data role (rbac.bicep).
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
